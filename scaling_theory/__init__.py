"""scaling-theory: solvable models of neural scaling laws.

Two models, named in the code after what they compute (``CONVENTIONS.md``):

* **model A** (Maloney, Roberts & Sully, arXiv:2210.16859; ``MRS`` in the
  public names): power-law latent data, random features, *ridge* regression;
* **model B** (Bordelon, Atanasov & Pehlevan, arXiv:2402.01092; ``BAP``):
  random features trained by gradient *flow* / descent / online SGD.

Layers
------
``scaling_theory.theory``
    The symbolic layer (sympy): derivations, LaTeX, asymptotic exponents.
``scaling_theory.numerics``
    The numeric layer (mpmath/scipy/numpy): solvers of what was derived, any
    precision, and the finite simulations that check them.
``scaling_theory.cli``, ``scaling_theory.report``
    The application layer: the command line (``scaling-theory``, or
    ``python -m scaling_theory``) and the reproduction report.

This module is the public face: the names below are all a user needs.

>>> import scaling_theory as st
>>> r = st.mrs_theory(st.MRSModel(M=1000, alpha=1.0, N=100, T=400))
>>> r.converged
True
>>> st.asymptotic_exponents("mrs")
{'loss_vs_N': -alpha, 'loss_vs_T': -alpha}
"""
from __future__ import annotations

from pathlib import Path as _Path

# In a source checkout the two layers live at the repository's top level
# (theory/, numerics/: the design card); an installed copy has them inside this
# package (pyproject.toml maps them in).  Let the checkout find them too.
_here = _Path(__file__).resolve().parent
if not (_here / "theory").is_dir() and (_here.parent / "theory" / "__init__.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821 - the package's own search path
del _here, _Path

from . import numerics, theory  # noqa: E402
from .numerics import (ACTIVATIONS, ArraySpectrum, BAPModel, BAPSimulation, BAPTheory,  # noqa: E402
                       ConvergenceError, FeatureExponents, FeatureSpectrum, MRSModel,
                       MRSNonlinearTheory, MRSSimulation, MRSTheory, MRSTheoryGrid, PowerLawFit,
                       PowerLawSpectrum, PredictedFeatureSpectrum, bap_theory, bap_compute_optimal, ComputeOptimal,
                       bap_train_loss_infinite_width, compare_spectra, feature_spectrum,
                       feature_spectrum_exponents, fit_power_law, hermite_coefficients,
                       mrs_nonlinear_theory, mrs_theory, mrs_theory_grid, predicted_feature_spectrum,
                       product_spectrum_exponent, simulate_bap, simulate_mrs, spectral_sums,
                       spectral_trace)
from .theory import (Derivation, asymptotic_exponents, asymptotic_prefactors, derive_bap,  # noqa: E402
                     derive_bap_sgd, derive_feature_extension, derive_mrs, phase_diagram)
from .numerics._parallel import Executor  # noqa: E402
from .sweeps import SweepRun, SweepSpec, load_sweep, plot_sweep, sweep  # noqa: E402


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("scaling-theory")
    except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
        return "0+unknown"


__version__ = _version()

__all__ = [
    "theory", "numerics", "__version__",
    # models
    "MRSModel", "BAPModel", "ACTIVATIONS",
    # theory (numeric solutions of the derived equations)
    "mrs_theory", "MRSTheory", "mrs_theory_grid", "MRSTheoryGrid",
    "mrs_nonlinear_theory", "MRSNonlinearTheory",
    "bap_theory", "BAPTheory", "bap_train_loss_infinite_width", "bap_compute_optimal", "ComputeOptimal",
    # simulation
    "simulate_mrs", "MRSSimulation", "simulate_bap", "BAPSimulation",
    # sweeps (Dask, stored, resumable)
    "sweep", "SweepSpec", "SweepRun", "load_sweep", "plot_sweep", "Executor",
    # spectra
    "PowerLawSpectrum", "ArraySpectrum", "spectral_sums", "spectral_trace",
    "feature_spectrum", "FeatureSpectrum", "feature_spectrum_exponents", "FeatureExponents",
    "predicted_feature_spectrum", "PredictedFeatureSpectrum", "hermite_coefficients",
    "product_spectrum_exponent", "compare_spectra", "fit_power_law", "PowerLawFit",
    # derivations and exponents
    "Derivation", "derive_mrs", "derive_bap", "derive_bap_sgd", "derive_feature_extension",
    "asymptotic_exponents", "asymptotic_prefactors", "phase_diagram",
    # errors
    "ConvergenceError",
]

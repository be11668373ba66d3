"""Symbolic layer of scaling-theory (sympy).

Public names
------------
Derivation, Step
    Derivations as objects: steps with sympy equations, residual checks
    (``verify``), numeric substitution (``check``) and LaTeX (``latex``,
    ``markdown``).
marchenko_pastur, wishart_renormalisation
    Building blocks: the Marchenko–Pastur S-transform and the ridge
    renormalisation lemma, derived from free multiplicative convolution.
derive_mrs, MRS_SYMBOLS
    Model A (Maloney, Roberts & Sully) with linear features: self-consistent
    equation, test and train loss, ridgeless limits, duality, asymptotics.
derive_bap, BAP_SYMBOLS
    Model B (Bordelon, Atanasov & Pehlevan), one-point results: the loss
    curve at P = inf, N = P = inf, t = inf, the N = inf train loss, exponents.
derive_bap_sgd, SGD_SYMBOLS
    Model B with online SGD (P = inf, batch B): the exact second-moment
    recursion, its generating function and the resolvents it needs.
derive_feature_extension, FEATURE_SYMBOLS
    Nonlinear features: Hermite coefficients of relu / erf, Mehler's expansion
    of the feature kernel, and the spectrum of the Hadamard (tensor) powers of
    the latent power law that extends it past M.
derive_gaussian_equivalent, GE_SYMBOLS
    Nonlinear features, the loss: exact moments given U, Gaussian equivalence,
    the deterministic equivalent in T (what ``mrs_nonlinear_theory`` evaluates).
derive_mellin, derive_asymptotics_mrs, derive_asymptotics_bap
    The asymptotics engine (Mellin expansions of power-law sums, inversion of
    the self-consistent equation, expansion of the loss) and its results for
    both models: exponents, Gamma/zeta prefactors, first corrections, phases,
    crossovers, compute-optimal allocation, optimally tuned ridge.
asymptotic_exponents, asymptotic_prefactors, phase_diagram, classify_phase,
regime_records, EXPONENT_KEYS
    The engine's results as data (tabulated in ``_generated_asymptotics.py``;
    ``source="engine"`` re-derives them).
write_derivations, derivation_documents
    Regenerate ``derivations/``, ``numerics/_generated_ridge.py`` and
    ``theory/_generated_asymptotics.py``.
generated_mrs_source
    The generated numeric code (text).
"""
from ._asymptotics import (EXPONENT_KEYS, asymptotic_exponents, asymptotic_prefactors, classify_phase,
                           derive_asymptotics_bap, derive_asymptotics_mrs, derive_mellin, phase_diagram,
                           regime_records)
from ._flow import BAP_SYMBOLS, derive_bap
from ._codegen import generated_mrs_source
from ._derivation import Derivation, Step
from ._flow_sgd import SGD_SYMBOLS, derive_bap_sgd
from ._feature_maps import FEATURE_SYMBOLS, derive_feature_extension
from ._gaussian_equivalent import GE_SYMBOLS, derive_gaussian_equivalent
from ._document import derivation_documents, write_derivations
from ._freeprob import marchenko_pastur, wishart_renormalisation
from ._ridge import MRS_SYMBOLS, derive_mrs

__all__ = [
    "Derivation",
    "Step",
    "marchenko_pastur",
    "wishart_renormalisation",
    "derive_mrs",
    "MRS_SYMBOLS",
    "derive_bap",
    "BAP_SYMBOLS",
    "derive_bap_sgd",
    "SGD_SYMBOLS",
    "derive_feature_extension",
    "FEATURE_SYMBOLS",
    "derive_gaussian_equivalent",
    "GE_SYMBOLS",
    "derive_mellin",
    "derive_asymptotics_mrs",
    "derive_asymptotics_bap",
    "asymptotic_exponents",
    "asymptotic_prefactors",
    "phase_diagram",
    "classify_phase",
    "regime_records",
    "EXPONENT_KEYS",
    "write_derivations",
    "derivation_documents",
    "generated_mrs_source",
]

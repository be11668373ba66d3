"""Numeric layer of scaling-theory (mpmath/scipy/numpy) and finite simulations.

Public names
------------
MRSModel, ACTIVATIONS
    Model A's parameters (frozen, validated once).
mrs_theory, MRSTheory
    Model A's theory at one point, double precision or any precision (``dps``).
mrs_theory_grid, MRSTheoryGrid
    Vectorised double precision over broadcast grids of N, T, gamma.
simulate_mrs, MRSSimulation
    Finite simulation of model A (linear, relu, erf, tanh), seeds and SEMs.
mrs_nonlinear_theory, MRSNonlinearTheory
    Model A with a nonlinear activation: Gaussian-equivalent features with the
    exact kernel, deterministic equivalent in T, average over sampled U.
feature_spectrum, FeatureSpectrum, feature_spectrum_exponents, FeatureExponents
    Spectrum of the feature covariance E_x[phi phi^T] (exact kernels or Monte
    Carlo) and its latent / extended power-law fits over draws of U.
predicted_feature_spectrum, PredictedFeatureSpectrum, hermite_coefficients,
product_spectrum_exponent, compare_spectra, fit_power_law, PowerLawFit
    The Hermite / tensor-power prediction of the extended spectrum, and fits.
PowerLawSpectrum, ArraySpectrum, spectral_sums, spectral_trace
    Spectral sums, O(1) in M for power laws.
BAPModel, bap_theory, BAPTheory, bap_train_loss_infinite_width
    Model B's parameters and its gradient-flow theory: test and train loss
    curves at finite or infinite N, P and M (any precision), label noise, gradient
    flow or gradient descent, ensembles, online SGD (P = inf); the N = inf train loss by the
    one-point route.
bap_compute_optimal, ComputeOptimal
    Model B's compute-optimal frontier from the full theory (``C = N t`` or ``C = N P``), any
    compute, with local and derived exponents.
simulate_bap, BAPSimulation
    Finite simulation of model B: gradient flow (exact), gradient descent,
    online SGD, ensembles, label noise.
ConvergenceError
    Raised by solvers that miss their tolerance (carries the residual).
"""
from ._simulate_flow import BAPSimulation, simulate_bap
from ._flow import BAPTheory, bap_theory, bap_train_loss_infinite_width
from ._compute_optimal import ComputeOptimal, bap_compute_optimal
from ._models import ACTIVATIONS, BAPModel, MRSModel
from ._ridge import MRSTheory, MRSTheoryGrid, mrs_theory, mrs_theory_grid
from ._simulate_ridge import MRSSimulation, simulate_mrs
from ._feature_spectra import (FeatureExponents, FeatureSpectrum, PowerLawFit, PredictedFeatureSpectrum,
                        compare_spectra, feature_spectrum, feature_spectrum_exponents, fit_power_law,
                        hermite_coefficients, predicted_feature_spectrum, product_spectrum_exponent)
from ._ridge_nonlinear import MRSNonlinearTheory, mrs_nonlinear_theory
from ._solver import ConvergenceError
from ._spectral_sums import ArraySpectrum, PowerLawSpectrum, spectral_sums, spectral_trace

__all__ = [
    "ACTIVATIONS", "MRSModel", "BAPModel",
    "MRSTheory", "MRSTheoryGrid", "mrs_theory", "mrs_theory_grid",
    "MRSSimulation", "simulate_mrs",
    "MRSNonlinearTheory", "mrs_nonlinear_theory",
    "feature_spectrum", "FeatureSpectrum", "feature_spectrum_exponents", "FeatureExponents",
    "predicted_feature_spectrum", "PredictedFeatureSpectrum", "hermite_coefficients",
    "product_spectrum_exponent", "compare_spectra", "fit_power_law", "PowerLawFit",
    "PowerLawSpectrum", "ArraySpectrum", "spectral_sums", "spectral_trace",
    "BAPTheory", "bap_theory", "bap_train_loss_infinite_width", "BAPSimulation", "simulate_bap",
    "bap_compute_optimal", "ComputeOptimal",
    "ConvergenceError",
]

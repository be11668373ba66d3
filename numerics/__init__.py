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
PowerLawSpectrum, ArraySpectrum, spectral_sums, spectral_trace
    Spectral sums, O(1) in M for power laws.
BAPModel, bap_theory, BAPTheory, bap_train_loss_infinite_width
    Model B's parameters and its gradient-flow theory: test and train loss
    curves at finite or infinite N and P (finite M), label noise, gradient
    flow or gradient descent, ensembles; the N = inf train loss by the
    one-point route.
simulate_bap, BAPSimulation
    Finite simulation of model B: gradient flow (exact), gradient descent,
    online SGD, ensembles, label noise.
ConvergenceError
    Raised by solvers that miss their tolerance (carries the residual).
"""
from ._simulate_bap import BAPSimulation, simulate_bap
from ._bap import BAPTheory, bap_theory, bap_train_loss_infinite_width
from ._models import ACTIVATIONS, BAPModel, MRSModel
from ._mrs import MRSTheory, MRSTheoryGrid, mrs_theory, mrs_theory_grid
from ._simulate import MRSSimulation, simulate_mrs
from ._solver import ConvergenceError
from ._spectral import ArraySpectrum, PowerLawSpectrum, spectral_sums, spectral_trace

__all__ = [
    "ACTIVATIONS", "MRSModel", "BAPModel",
    "MRSTheory", "MRSTheoryGrid", "mrs_theory", "mrs_theory_grid",
    "MRSSimulation", "simulate_mrs",
    "PowerLawSpectrum", "ArraySpectrum", "spectral_sums", "spectral_trace",
    "BAPTheory", "bap_theory", "bap_train_loss_infinite_width", "BAPSimulation", "simulate_bap",
    "ConvergenceError",
]

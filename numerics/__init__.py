"""Numeric layer of scaling-theory (mpmath/scipy/numpy) and finite simulations."""
from ._models import ACTIVATIONS, MRSModel
from ._mrs import MRSTheory, MRSTheoryGrid, mrs_theory, mrs_theory_grid
from ._solver import ConvergenceError

__all__ = ["ACTIVATIONS", "MRSModel", "MRSTheory", "MRSTheoryGrid", "mrs_theory", "mrs_theory_grid",
           "ConvergenceError"]

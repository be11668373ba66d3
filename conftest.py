"""Test-suite set-up shared by the tests and the doctests.

pytest collects the doctests of the two layers from their folders at the
repository's top level (``theory/``, ``numerics/``) and would import each file a
second time under a top-level name (``numerics._flow``), beside the real module
(``scaling_theory.numerics._flow``): two copies of every class.  The modules
are registered under those names here, so the doctests run on the real ones.
The whole run uses one BLAS thread (see the end of this file).
"""
import importlib
import pkgutil
import sys

for _layer in ("theory", "numerics"):
    _pkg = importlib.import_module(f"scaling_theory.{_layer}")
    sys.modules.setdefault(_layer, _pkg)
    for _info in pkgutil.iter_modules(_pkg.__path__):
        sys.modules.setdefault(f"{_layer}.{_info.name}",
                               importlib.import_module(f"scaling_theory.{_layer}.{_info.name}"))

# One BLAS thread for the whole run: the tests' linear algebra is small, and on a busy 2-core
# machine two OpenBLAS threads oversubscribe the cores (an SVD several times slower).  Worker
# processes of the sweep tests set their own limit (numerics/_parallel.py).
from threadpoolctl import threadpool_limits as _threadpool_limits  # noqa: E402

_BLAS_LIMIT = _threadpool_limits(limits=1, user_api="blas")

"""One result base for every theory and simulation result.

Every result of the toolkit (model A's and model B's theory, their
simulations, the nonlinear theory, the feature spectra) is a frozen dataclass
that derives from :class:`Result` and provides ``to_dict()`` (JSON-ready: the
model's parameters, the values, and how they were computed: ``method``,
``dps`` (precision; ``None`` for double), ``converged``/``residual`` or
``accuracy``/``*_sem``).  The base adds the same face to all of them:

* ``str(result)``: one readable line (subclasses refine it);
* ``result._repr_markdown_()``: a table in Jupyter (curves and grids as
  rows, at most :data:`MAX_ROWS`);
* ``result.latex()``: the values as ``name = value`` in LaTeX (numbers as
  ``1.5 \\times 10^{-5}``, ``\\infty``);
* ``result.info()``: how it was obtained, the same keys for every result (``model``,
  ``method``, ``precision``, ``converged``, ``residual``, ``accuracy``, ``seeds``);
* ``result.to_dataframe()``: the curve or grid as a pandas ``DataFrame``
  (one row per point; the scalar fields as ``df.attrs``).  pandas is optional.

>>> from scaling_theory import BAPModel, bap_theory
>>> r = bap_theory(BAPModel(M=100, alpha=1.5, beta=1.0, N=20, P="inf"), [0.0, 10.0])
>>> print(r._repr_markdown_().splitlines()[0])
**BAPTheory** (fixed Talbot in kappa (test loss), double precision)
>>> r.to_dataframe().columns.tolist()[:3]         # doctest: +SKIP
['t', 'test_loss', 'train_loss']
"""
from __future__ import annotations

from scaling_theory.theory._latex import latex_number

__all__ = ["Result", "SimulationResult", "latex_number", "MAX_ROWS"]

#: Rows of a curve shown by ``_repr_markdown_``.
MAX_ROWS = 20


def _is_seq(v):
    return isinstance(v, (list, tuple))


class Result:
    """Mixin of every result dataclass (see the module docstring)."""

    def to_dict(self) -> dict:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _fields(self):
        d = self.to_dict()
        model = d.pop("model", None)
        points = d.pop("points", None)
        if points and isinstance(points[0], dict):     # a grid: one dict per point
            d.update({k: [q[k] for q in points] for k in points[0]})
        seqs = {k: v for k, v in d.items() if _is_seq(v) and v and not isinstance(v[0], (list, dict))}
        lengths = {len(v) for v in seqs.values()}
        if len(lengths) > 1:   # keep the most common length (the curve); others are scalars-like
            n = max(lengths, key=lambda L: sum(len(v) == L for v in seqs.values()))
            seqs = {k: v for k, v in seqs.items() if len(v) == n}
        scalars = {k: v for k, v in d.items() if k not in seqs and not _is_seq(v) and not isinstance(v, dict)}
        return model, seqs, scalars

    def info(self) -> dict:
        """How the result was obtained, with the same keys for every result: ``model`` (its
        parameters), ``method``, ``precision`` (``"double"`` or the digits), ``converged``
        (``None`` where nothing iterates), ``residual`` and ``accuracy`` (``None`` where the
        result has no such estimate; simulations: ``"sem"``, the standard errors are in the
        result), ``seeds`` (simulations)."""
        model = getattr(self, "model", None)
        dps = getattr(self, "dps", None)
        acc = getattr(self, "accuracy", None)
        if acc is None and hasattr(self, "test_loss_sem"):
            acc = "sem"
        elif acc is not None and not isinstance(acc, str):
            acc = [float(a) for a in acc] if hasattr(acc, "__len__") else float(acc)
        res = getattr(self, "residual", None)
        if res is not None and not isinstance(res, str):
            res = [float(r) for r in res.ravel()] if hasattr(res, "ravel") else float(res)
        return {"model": model.to_dict() if hasattr(model, "to_dict") else model,
                "method": getattr(self, "method", None) or getattr(self, "test_loss_method", None),
                "precision": "double" if dps is None else int(dps),
                "converged": getattr(self, "converged", None),
                "residual": res, "accuracy": acc, "seeds": getattr(self, "seeds", None)}

    def _how(self):
        method = getattr(self, "method", None) or getattr(self, "test_loss_method", None)
        dps = getattr(self, "dps", None)
        prec = "double precision" if dps is None else f"{dps} digits"
        return ", ".join(x for x in (method, prec) if x)

    def _repr_markdown_(self) -> str:
        _, seqs, scalars = self._fields()
        lines = [f"**{type(self).__name__}** ({self._how()})", ""]
        model = getattr(self, "model", None)
        if model is not None:
            lines += ["`" + repr(model) + "`", ""]
        if seqs:
            keys = list(seqs)
            n = len(seqs[keys[0]])
            lines += ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
            rows = range(n) if n <= MAX_ROWS else list(range(MAX_ROWS - 1)) + [n - 1]
            for i in rows:
                if n > MAX_ROWS and i == n - 1:
                    lines.append("| " + " | ".join("..." for _ in keys) + " |")
                lines.append("| " + " | ".join(_cell(seqs[k][i]) for k in keys) + " |")
            lines.append("")
        shown = {k: v for k, v in scalars.items() if v is not None and k not in _MODEL_KEYS}
        if shown:
            lines += ["| quantity | value |", "| --- | --- |"]
            lines += [f"| {k} | {_cell(v)} |" for k, v in shown.items()]
        return "\n".join(lines)

    def latex(self) -> str:
        """The scalar values as ``\\mathrm{name} = value`` (LaTeX, one line)."""
        _, _, scalars = self._fields()
        parts = [r"\mathrm{" + k.replace("_", r"\_") + "} = " + latex_number(v) for k, v in scalars.items()
                 if v is not None and k not in _MODEL_KEYS and not isinstance(v, str)]
        return r",\quad ".join(parts)

    def _repr_latex_(self):
        return "$" + self.latex() + "$"

    def to_dataframe(self):
        """The curve or grid as a ``pandas.DataFrame`` (one row per point); the
        model and the scalar fields are in ``df.attrs``."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - optional dependency
            raise ImportError("to_dataframe needs pandas: pip install pandas") from None
        model, seqs, scalars = self._fields()
        if not seqs:
            seqs = {k: [v] for k, v in scalars.items() if k not in _MODEL_KEYS}
        df = pd.DataFrame(seqs)
        m = getattr(self, "model", None)
        df.attrs.update({**scalars, "model": m.to_dict() if hasattr(m, "to_dict") else model})
        return df


class SimulationResult(Result):
    """Base of the simulation results of both models: means and standard errors over
    ``seeds`` instances along one axis (model A: ridges; model B: times)."""

    def _seed_dict(self) -> dict:
        return {"seeds": int(self.seeds), "seed": None if self.seed is None else int(self.seed),
                "per_seed_test": [[float(v) for v in row] for row in self.per_seed_test],
                "per_seed_train": [[float(v) for v in row] for row in self.per_seed_train]}

    def _rows(self, axis: str, values) -> list:
        rows = [f"  {axis:>12}  {'test loss':>26}  {'train loss':>26}"]
        for x, a, sa, b, sb in zip(values, self.test_loss, self.test_loss_sem, self.train_loss,
                                   self.train_loss_sem):
            rows.append(f"  {x:12.4g}  {a:14.6e} ± {sa:9.2e}  {b:14.6e} ± {sb:9.2e}")
        return rows


#: Model parameters that to_dict() flattens into results (shown by the model's repr instead).
_MODEL_KEYS = {"M", "N", "T", "P", "alpha", "beta", "gamma", "noise_var", "lambda_plus", "sigma_w2", "sigma_u2",
               "activation", "eta", "batch", "ensemble", "spectrum", "target_weights", "teacher_variances"}


def _cell(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)

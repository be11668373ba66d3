"""Derivations as objects: steps with sympy equations, checks and LaTeX.

A :class:`Derivation` is a chain of :class:`Step` objects.  Each step states
what it does (prose), the equations it produces (sympy ``Eq`` objects) and a
tuple of *residuals*: sympy expressions that must vanish identically if the
step is right.  :meth:`Derivation.verify` simplifies every residual; the test
suite calls it, so a wrong step fails a test rather than a reader.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ._latex import latex, result_latex

__all__ = ["Step", "Derivation"]


def _latex(obj) -> str:
    return latex(obj)


@dataclass(frozen=True)
class Step:
    """One checkable step of a derivation.

    Parameters
    ----------
    title : str
        Short name of the step.
    text : str
        What the step does, in Markdown (inline math in ``$...$``).
    equations : tuple
        The sympy equations (or expressions) the step establishes.
    residuals : tuple
        Sympy expressions that simplify to zero when the step is right.
    kind : {"derived", "building block", "identity", "definition"}
        Whether the step is derived here or stated (a building block cited
        from the literature, whose consequences the later steps check).
    """

    title: str
    text: str
    equations: tuple = ()
    residuals: tuple = ()
    kind: str = "derived"

    def verify(self) -> list:
        """Residuals after simplification (all zero when the step holds)."""
        out = []
        for r in self.residuals:
            out.append(sp.simplify(sp.together(sp.expand(r))))
        return out

    def latex(self) -> str:
        """The step's equations as LaTeX, one display per equation."""
        return "\n".join(f"$$\n{_latex(e)}\n$$" for e in self.equations)


@dataclass(frozen=True)
class Derivation:
    """A chain of steps ending in named results.

    ``results`` maps a name to a sympy object (usually ``Eq``); the numeric
    layer lambdifies these.  ``symbols`` maps a symbol to its meaning.
    """

    title: str
    summary: str
    symbols: tuple  # ((Symbol, meaning), ...)
    assumptions: tuple  # (str, ...)
    steps: tuple  # (Step, ...)
    results: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.results[name]

    def verify(self) -> dict:
        """Map step title -> list of simplified residuals.

        Raises ``AssertionError`` naming the step if a residual is not zero.
        """
        report = {}
        for step in self.steps:
            res = step.verify()
            bad = [r for r in res if r != 0]
            if bad:
                raise AssertionError(f"step {step.title!r} failed: residuals {bad}")
            report[step.title] = res
        return report

    def check(self, point: dict, names=None) -> dict:
        """Substitute a numeric point into result equations.

        ``point`` maps symbols (or their names) to numbers; returns, for each
        result that is an ``Eq``, the residual ``lhs - rhs`` at that point.
        """
        subs = {}
        lookup = {str(s): s for s, _ in self.symbols}
        for k, v in point.items():
            subs[lookup.get(k, k) if isinstance(k, str) else k] = v
        out = {}
        for name, res in self.results.items():
            if names is not None and name not in names:
                continue
            if isinstance(res, sp.Eq):
                out[name] = sp.N((res.lhs - res.rhs).subs(subs))
        return out

    def latex(self, name=None) -> str:
        """LaTeX of one result (``name``) or of all results."""
        if name is not None:
            return result_latex(name, self.results[name])
        return "\n".join(f"% {key}\n{result_latex(key, val)}" for key, val in self.results.items())

    def _repr_latex_(self):
        key = next(iter(self.results))
        return "$" + result_latex(key, self.results[key]) + "$"

    def results_markdown(self) -> str:
        """Title, summary and every result, each labelled with its key (the Jupyter view)."""
        lines = [f"**{self.title}**", "", self.summary, ""]
        for key, val in self.results.items():
            lines += [f"- `{key}`: ${result_latex(key, val)}$"]
        lines += ["", f"*{len(self.steps)} steps; `.markdown()` for the whole derivation, "
                      "`.verify()` to check them.*"]
        return "\n".join(lines)

    def _repr_markdown_(self):
        return self.results_markdown()

    def markdown(self) -> str:
        """The whole derivation as a Markdown document (deterministic)."""
        lines = [f"## {self.title}", "", self.summary, "", "### Symbols", ""]
        lines += ["| symbol | meaning |", "| --- | --- |"]
        for sym, meaning in self.symbols:
            lines.append(f"| ${latex(sym)}$ | {meaning} |")
        if self.assumptions:
            lines += ["", "### Assumptions", ""]
            lines += [f"- {a}" for a in self.assumptions]
        lines += ["", "### Steps", ""]
        for i, step in enumerate(self.steps, 1):
            lines += [f"#### {i}. {step.title} ({step.kind})", "", step.text, ""]
            if step.equations:
                lines += [step.latex(), ""]
            if step.residuals:
                lines += [
                    f"*Checked:* {len(step.residuals)} residual(s) simplify to 0 "
                    "(`Derivation.verify`).",
                    "",
                ]
        lines += ["### Results", ""]
        for key, val in self.results.items():
            lines += [f"`{key}`:", "", f"$$\n{result_latex(key, val)}\n$$", ""]
        return "\n".join(lines)

    def __str__(self):
        return f"{self.title}: " + ", ".join(self.results)

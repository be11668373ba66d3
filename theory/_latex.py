r"""One LaTeX printer for everything the toolkit emits.

sympy's default LaTeX is close to what a physicist pastes into a paper, but not
quite: symbol names written for the code (``kappa'``, ``s'(kappa)``,
``G_test``, ``sigma_epsilon^2``, ``L[loss_vs_N, beta < 1]``) come out as
``\kappa kappa'``-like mixtures or italic multi-letter words, floats as
``1.0 \cdot 10^{-7}``, inverse trigonometric functions as
``\operatorname{acos}``.  :func:`latex` fixes these in one place:

* symbol names: Greek words become commands (``\kappa'``, ``s'(\kappa)``),
  multi-letter words become upright (``G_{\mathrm{test}}``), bracketed
  qualifiers become subscripts (``L_{\mathrm{vs}\,N,\,\beta < 1}``); names that
  are already LaTeX (they contain a backslash) are kept;
* numbers: ``1.5 \times 10^{-5}``, ``\infty``;
* ``\arccos``, ``\arcsin`` (``inv_trig_style="full"``).

>>> import sympy as sp
>>> latex(sp.Symbol("kappa'") * sp.Symbol("n_1'"))
"\\kappa' n_1'"
>>> latex(sp.Eq(sp.Symbol("G_test"), sp.Float(1.5e-5) * sp.Symbol("s'(kappa)")))
"G_{\\mathrm{test}} = 1.5 \\times 10^{-5} s'(\\kappa)"
>>> latex(sp.acos(sp.Symbol("rho")))
'\\arccos{\\left(\\rho \\right)}'
>>> clean_symbol("L[loss_vs_N, beta < 1]")
'L_{\\mathrm{vs}\\,N,\\,\\beta < 1}'
"""
from __future__ import annotations

import math
import numbers
import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["latex", "latex_number", "clean_symbol", "result_lhs", "result_latex", "GREEK", "RESULT_LHS"]

#: Greek letters written out in symbol names (lower case; ``Lambda`` etc. too).
GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega")
_GREEK_UPPER = ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega")
_GREEK_ALL = set(GREEK) | set(_GREEK_UPPER)

#: Whole names with a conventional form.
_SPECIAL = {"tr_Lambda": r"\mathrm{tr}\,\Lambda", "lambda_+": r"\lambda_{+}"}


def _word(w: str, sub: bool) -> str:
    if w in _GREEK_ALL:
        return "\\" + w
    if sub and len(w) <= 2:       # indices: K_{ij}
        return w
    if len(w) > 1:
        if w == "vs":
            return r"\mathrm{vs}"
        return r"\mathrm{" + w + "}"
    return w


def _plain(name: str) -> str:
    """A plain (backslash-free) name: Greek words to commands, longer words upright."""
    out, i = [], 0
    for m in re.finditer(r"[A-Za-z]+", name):
        out.append(name[i:m.start()])
        sub = m.start() > 0 and name[m.start() - 1] in "_^{"
        out.append(_word(m.group(0), sub))
        i = m.end()
    out.append(name[i:])
    s = "".join(out)
    # a multi-character subscript or superscript needs braces: G_\mathrm{test} -> G_{\mathrm{test}}
    s = re.sub(r"([_^])(\\mathrm\{[^}]*\}|\\[A-Za-z]+)(?=$|[^{}])", r"\1{\2}", s)
    s = re.sub(r"_([^{\s\\][^_^\s'(),]+)", lambda m: "_{" + m.group(1) + "}" if len(m.group(1)) > 1 else m.group(0), s)
    return s


def _qualifier(text: str) -> str:
    parts = []
    for piece in (p.strip() for p in text.split(",")):
        m = re.fullmatch(r"loss_vs_([A-Za-z])", piece)
        if m:
            parts.append(r"\mathrm{vs}\," + m.group(1))
        else:
            parts.append(_plain(piece))
    return r",\,".join(parts)


def clean_symbol(name: str) -> str:
    """LaTeX for a symbol's name (see the module docstring)."""
    if name in _SPECIAL:
        return _SPECIAL[name]
    m = re.fullmatch(r"(.*?)\[([^\\\]]*)\]", name)
    if m and re.search(r"loss_vs|<|>", m.group(2)):
        base, qual = m.group(1), _qualifier(m.group(2))
        if base == "loss^*":
            base = "L^*"
        b = re.fullmatch(r"(.*?)_(\\[A-Za-z]+|\{[^}]*\}|[A-Za-z0-9])", base)
        if b:          # merge with an existing subscript (no double subscripts)
            inner = b.group(2).strip("{}")
            inner = inner if "\\" in inner else _plain(inner)
            return _plain(b.group(1)) + "_{" + inner + r",\," + qual + "}"
        return f"{_plain(base)}_{{{qual}}}"
    if "\\" in name:
        return name
    m = re.fullmatch(r"loss_vs_([A-Za-z])", name)
    if m:
        return r"L\ \mathrm{vs}\ " + m.group(1)
    m = re.fullmatch(r"([A-Za-z])_([A-Za-z]),([A-Za-z]+)", name)           # G_c,test
    if m:
        return f"{m.group(1)}_{{{m.group(2)},{_word(m.group(3), True)}}}"
    return _plain(name)


def latex_number(x, digits: int = 6) -> str:
    """A number as LaTeX: ``1.5 \\times 10^{-5}``, ``\\infty``, ``0.25``.

    >>> latex_number(1.5e-5), latex_number(float("inf")), latex_number(0.25), latex_number(3)
    ('1.5 \\\\times 10^{-5}', '\\\\infty', '0.25', '3')
    """
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return r"\mathrm{" + x.replace("_", r"\_") + "}"
    if isinstance(x, bool):
        return r"\mathrm{" + str(x).lower() + "}"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return s


class _Printer(LatexPrinter):
    def _print_Symbol(self, expr, style="plain"):
        if expr in self._settings["symbol_names"]:
            return self._settings["symbol_names"][expr]
        return clean_symbol(expr.name)

    _print_RandomSymbol = _print_Symbol

    def _print_Float(self, expr):
        return latex_number(float(expr), 15)


def latex(obj, **settings) -> str:
    """LaTeX of a sympy object (or a string, returned as it is) with the toolkit's conventions."""
    if isinstance(obj, str):
        return obj
    settings.setdefault("inv_trig_style", "full")
    if isinstance(obj, (tuple, list)):
        return r",\quad ".join(latex(o, **settings) for o in obj)
    if isinstance(obj, (bool, int, float)):
        obj = sp.sympify(obj)
    return _Printer(settings).doprint(obj)


_D = r"\frac{{\partial \log {0}}}{{\partial \log {1}}}"

#: Left-hand sides of the results that are stored as bare expressions.
RESULT_LHS = {
    "chi_W": r"\chi_W(t)",
    "prefactor": "A",
    "exponent_N": _D.format(r"\langle L\rangle", "N"),
    "exponent_T": _D.format(r"\langle L\rangle", "T"),
    "exponent_P": _D.format("L", "P"),
    "exponent_t": _D.format("L", "t"),
    "gd_residue": r"\mathrm{Res}_{s=-\lambda_x}\frac{(1+\eta s)^n}{s+\lambda_x}",
    "ds_dkappa": r"s'(\kappa)",
    "s_of_kappa": r"s(\kappa)",
    "bias_kernel": r"B(\kappa,\kappa')",
    "df_kernel": r"D(\kappa,\kappa')",
    "test_kernel": r"G_{\mathrm{test}}(\kappa,\kappa')",
    "train_kernel": r"G_{\mathrm{train}}(\kappa,\kappa')",
    "ensemble_cross_test_kernel": r"G_{c,\mathrm{test}}(\kappa,\kappa')",
    "ensemble_cross_train_kernel": r"G_{c,\mathrm{train}}(\kappa,\kappa')",
    "compute_optimal_N": _D.format("N^*", "C"),
    "compute_optimal_t": _D.format("t^*", "C"),
    "compute_optimal_loss": _D.format("L^*", "C"),
    "loss_N_P_inf": r"L_{N=P=\infty}(t)",
    "sgd_roots": r"(s_1,\,s_2)",
    "sgd_resolvents": r"\Big(u^\top(J+s)^{-1}u,\ \sum_a \frac{j_a^2}{j_a+s}\Big)",
    "exponent": r"-\frac{\partial \log \lambda_k}{\partial \log k}",
    "zeta_residue": r"\mathrm{Res}_{s=1}\zeta(s)",
    "correction_N": r"(\delta_N,\ c_N)",
    "crossover_N_T": r"\langle L\rangle_{N\to T}",
    "finite_M_correction": r"\delta L/L",
    "plateau_past_M": r"\langle L\rangle_{N>M,\,T>M}",
    "optimal_ridge_loss": r"L^*(x)",
    "optimal_x": r"x^*",
    "optimal_ridge": r"\gamma^*(x)",
    "optimal_ridge_T_inf": r"\gamma^*_{T\to\infty}",
    "optimal_y_equal": r"y^*",
    "optimal_loss_equal": r"L^*_{N=T}",
    "optimal_ridge_equal": r"\gamma^*_{N=T}",
}

_QUALIFIED = {"crossover_t": r"t_{\times", "compute_optimal_prefactor_N": r"A_{N^*", "compute_optimal_prefactor_t": r"A_{t^*",
              "compute_optimal_prefactor_loss": r"A_{L^*"}


def result_lhs(key: str) -> str:
    """The left-hand side under which a bare-expression result is shown.

    >>> result_lhs("ds_dkappa"), result_lhs("crossover_t[loss_vs_N, beta < 1]")
    ("s'(\\\\kappa)", 't_{\\\\times,\\\\,\\\\mathrm{vs}\\\\,N,\\\\,\\\\beta < 1}')
    """
    if key in RESULT_LHS:
        return RESULT_LHS[key]
    m = re.fullmatch(r"(\w+)\[(.*)\]", key)
    if m and m.group(1) in _QUALIFIED:
        return _QUALIFIED[m.group(1)] + r",\," + _qualifier(m.group(2)) + "}"
    return r"\mathrm{" + key.replace("_", r"\_") + "}"


def result_latex(key: str, value) -> str:
    """A result as one LaTeX equation with its left-hand side."""
    if isinstance(value, (sp.Eq, sp.core.relational.Relational)):
        return latex(value)
    return result_lhs(key) + " = " + latex(value)

"""Symbolic layer of scaling-theory (sympy)."""

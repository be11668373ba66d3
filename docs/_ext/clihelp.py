"""``{cli-help}`` directive: the ``--help`` of a ``scaling-theory`` command, as a literal
block generated at build time from the parser itself (never out of date).

In MyST::

    ```{cli-help} mrs loss
    ```
"""
from __future__ import annotations

import io
from contextlib import redirect_stdout

from docutils import nodes
from docutils.parsers.rst import Directive


def command_help(words: list[str]) -> str:
    """The help text of ``scaling-theory WORDS --help`` (80 columns)."""
    import os

    from scaling_theory.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        buf = io.StringIO()
        with redirect_stdout(buf):
            try:
                build_parser().parse_args([*words, "--help"])
            except SystemExit:
                pass
        return buf.getvalue().rstrip()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


class CliHelp(Directive):
    required_arguments = 0
    optional_arguments = 3
    has_content = False

    def run(self):
        text = command_help(list(self.arguments))
        if not text:
            raise self.error(f"no help for 'scaling-theory {' '.join(self.arguments)}'")
        node = nodes.literal_block(text, text)
        node["language"] = "text"
        return [node]


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

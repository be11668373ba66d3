"""``python -m scaling_theory``: the command line (same as ``scaling-theory``)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m autograd``: the command line (autograd/cli)."""

import sys

from .cli import main

sys.exit(main(prog="python -m autograd"))

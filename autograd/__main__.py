"""Command line: ``python -m autograd <command>``.

  check   gradcheck every op on every available backend
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="gradcheck every op on every available backend")
    args = parser.parse_args(argv)
    if args.command == "check":
        from .selfcheck import main as check_main

        return check_main()
    return 2


if __name__ == "__main__":
    sys.exit(main())

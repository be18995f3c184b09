"""Command line: ``python -m autograd <command>``.

  check   gradcheck every op on every available backend
  bench   time autograd against micrograd and PyTorch (--quick, --json)
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="gradcheck every op on every available backend")
    sub.add_parser("bench", help="time autograd against micrograd and PyTorch", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "check":
        from .selfcheck import main as check_main

        return check_main()
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""The command line: ``python -m autograd <command>``.

  check   gradcheck every op on every available backend
  demo    train micrograd's MLP on two moons (try --plot boundary.png)
  explain show the backward pass of one expression (e.g. "x*x + 2**x - 1/x" x=2)
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
    from .demo import add_arguments as demo_arguments

    demo_arguments(sub.add_parser("demo", help="train an MLP on two moons and report speed and accuracy"))
    from .explain import add_arguments as explain_arguments

    explain_arguments(sub.add_parser("explain", help="forward and explained backward of one expression"))
    sub.add_parser("bench", help="time autograd against micrograd and PyTorch", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "check":
        from .check import main as check_main

        return check_main()
    if args.command == "demo":
        from .demo import main as demo_main

        return demo_main(args)
    if args.command == "explain":
        from .explain import main as explain_main

        return explain_main(args)
    return 2



"""The command line: ``python -m autograd <command>``, or the ``autograd`` script.

Each command lives in its own module (demo, explain, check, bench) and adds its
own options; this one only dispatches, so an error in a command's options
prints that command's usage, not this one's.
"""

from __future__ import annotations

import argparse
import os
import sys

Parser = argparse.ArgumentParser

DESCRIPTION = """\
Scalar reverse-mode automatic differentiation, with the graph and the backward
sweep in C. Run "COMMAND --help" for the options of one command.
"""


def _prog() -> str:
    # the console script is "autograd"; python -m runs autograd/__main__.py
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m autograd" if name in ("", "__main__.py", "-c") else name


def _version() -> str:
    from .. import __version__

    return f"scalar-autograd {__version__}"


def build_parser(prog: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, Parser]]:
    """The top-level parser and each command's own parser, by name."""
    from . import demo, explain

    parser = argparse.ArgumentParser(prog=prog or _prog(), description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version(),
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="the command to run")
    commands = {
        "check": sub.add_parser(
            "check", help="gradcheck every op on every available backend",
            description="Gradcheck every op at several points on every available backend; "
                        "print a table and exit 1 if any check fails."),
        "demo": sub.add_parser(
            "demo", help="train micrograd's MLP on two moons (try: demo --plot boundary.png)",
            description=demo.describe(), formatter_class=argparse.RawDescriptionHelpFormatter),
        "explain": sub.add_parser(
            "explain", help='show each chain-rule step of one expression (try: explain "x*x - 1/x" x=2)',
            description=explain.DESCRIPTION),
        # bench parses its own options
        "bench": sub.add_parser(
            "bench", help="time autograd against micrograd and PyTorch (bench --help lists its options)",
            add_help=False),
    }
    demo.add_arguments(commands["demo"])
    explain.add_arguments(commands["explain"])
    return parser, commands


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    parser, commands = build_parser(prog)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(rest)
    if rest:
        commands[args.command].error(f"unrecognized arguments: {' '.join(rest)}")
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

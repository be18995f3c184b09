"""``python -m autograd explain EXPR x=2 ...``: one expression, forward and backward.

The expression is Python, evaluated with each ``name=number`` bound to a leaf
Value and the math functions (every unary op of autograd/ops.py: exp, log,
sin, ...) in scope; nothing else is.  It prints the forward value, the explained
backward pass and the gradients, and with ``--draw FILE`` renders the graph
(after backward, so the picture shows the gradients too).
"""

from __future__ import annotations

import argparse
import sys

from .. import backend as ag_backend
from ..learn.explain import explain
from ..value import FREE_FUNCTIONS, Value, as_number

FUNCTIONS = dict(FREE_FUNCTIONS)        # exp, log, sin, ...: every unary op of the table
DESCRIPTION = f"""\
Evaluate one Python expression with each name=number bound to a variable, then
print the forward value, every chain-rule step of the backward pass and the
gradients. The math functions {", ".join(FUNCTIONS)} are in scope; nothing else
is. Example: explain "x*x + 2**x - 1/x" x=2
"""

OUTPUT = "out"      # the label of the expression's value in the text and the picture


def parse_binding(text: str) -> tuple[str, float]:
    name, sep, number = text.partition("=")
    name = name.strip()
    value = as_number(_to_float(number)) if sep else None
    if not sep or not name.isidentifier() or value is None:
        raise argparse.ArgumentTypeError(f"expected name=number, like x=2, not {text!r}")
    if name in FUNCTIONS or name == OUTPUT:
        raise argparse.ArgumentTypeError(f"{name!r} is reserved; pick another variable name")
    return name, value


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _number(x: float) -> str:
    """repr(x), but 0 for -0.0: the sign of a zero is noise to a learner."""
    return repr(x + 0.0)


def evaluate(expr: str, bindings: dict[str, float]) -> tuple[Value, dict[str, Value]]:
    """The expression's Value and the leaves it was given, by name."""
    leaves = {name: Value(x) for name, x in bindings.items()}
    scope: dict[str, object] = {"__builtins__": {}, **FUNCTIONS, **leaves}
    out = eval(expr, scope)  # noqa: S307  (the user's own expression, as with python -c)
    if not isinstance(out, Value):
        raise TypeError(f"the expression gave a {type(out).__name__}, not a Value: "
                        "does it use the variables?")
    return out, leaves


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help='a Python expression, e.g. "x*x + 2**x - 1/x"')
    parser.add_argument("bindings", nargs="*", type=parse_binding, metavar="name=number",
                        help="a value for each variable, e.g. x=2")
    parser.add_argument("--draw", metavar="FILE",
                        help="also render the graph, after backward, to FILE (.svg, .png or .pdf need "
                             "Graphviz; .dot writes the DOT source)")
    parser.add_argument("--max-steps", type=int, default=50, metavar="N",
                        help="print at most N chain-rule steps (default %(default)s)")
    parser.add_argument("--backend", choices=["c", "python"], default=None,
                        help="engine to run on (default: c when it is built)")


def main(args: argparse.Namespace) -> int:
    from ..learn.pictures import GraphvizError, draw

    saved = ag_backend.get_backend()
    try:
        if args.backend:
            ag_backend.set_backend(args.backend)
        try:
            out, leaves = evaluate(args.expression, dict(args.bindings))
        except Exception as exc:  # a typo in the expression is the user's to fix: say what
            print(f"explain: cannot evaluate {args.expression!r}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return 2
        names: dict[str, Value] = {**leaves, OUTPUT: out}
        given = ", ".join(f"{k} = {v.data:g}" for k, v in leaves.items())
        print(f"forward: {OUTPUT} = {args.expression}" + (f" at {given}" if given else "")
              + f" = {_number(out.data)}")
        explain(out, names, max_steps=args.max_steps, accumulate=True)
        for name, leaf in leaves.items():
            print(f"d{OUTPUT}/d{name} = {_number(leaf.grad)}")
        if args.draw:
            try:
                draw(out, args.draw, names, max_nodes=None)
            except GraphvizError as exc:
                print(f"explain: {exc}", file=sys.stderr)
                return 1
            print(f"graph written to {args.draw}")
        return 0
    finally:
        ag_backend.set_backend(saved)

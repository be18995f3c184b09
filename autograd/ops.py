"""The op codes, shared by both engines.

csrc/autograd.h holds the same numbers (a test checks that they agree).  An op
whose name ends in C takes one node input and a number constant ``c``: the
constant is part of the node, so it never receives a gradient.
"""

from __future__ import annotations

from typing import NamedTuple


class OpInfo(NamedTuple):
    name: str
    arity: int      # node inputs: 0, 1 or 2
    formula: str    # how the output is computed, for pictures and explain


LEAF = 0
ADD = 1
SUB = 2
MUL = 3
DIV = 4
POW = 5
ADDC = 6
SUBC = 7
RSUBC = 8
MULC = 9
DIVC = 10
RDIVC = 11
POWC = 12
RPOWC = 13
NEG = 14
EXP = 15
LOG = 16
SIN = 17
COS = 18
TANH = 19
RELU = 20
SIGMOID = 21
SQRT = 22
ABS = 23
PRIMITIVE = 24
COUNT = 25
FREE = 255

OPS: tuple[OpInfo, ...] = (
    OpInfo("leaf", 0, "x"),
    OpInfo("add", 2, "a + b"),
    OpInfo("sub", 2, "a - b"),
    OpInfo("mul", 2, "a * b"),
    OpInfo("div", 2, "a / b"),
    OpInfo("pow", 2, "a ** b"),
    OpInfo("addc", 1, "a + c"),
    OpInfo("subc", 1, "a - c"),
    OpInfo("rsubc", 1, "c - a"),
    OpInfo("mulc", 1, "a * c"),
    OpInfo("divc", 1, "a / c"),
    OpInfo("rdivc", 1, "c / a"),
    OpInfo("powc", 1, "a ** c"),
    OpInfo("rpowc", 1, "c ** a"),
    OpInfo("neg", 1, "-a"),
    OpInfo("exp", 1, "exp(a)"),
    OpInfo("log", 1, "log(a)"),
    OpInfo("sin", 1, "sin(a)"),
    OpInfo("cos", 1, "cos(a)"),
    OpInfo("tanh", 1, "tanh(a)"),
    OpInfo("relu", 1, "relu(a)"),
    OpInfo("sigmoid", 1, "sigmoid(a)"),
    OpInfo("sqrt", 1, "sqrt(a)"),
    OpInfo("abs", 1, "abs(a)"),
    OpInfo("primitive", 2, "b (a user primitive's value; a gets g * c)"),
)
assert len(OPS) == COUNT

# arity by op code, -1 for codes that are not ops (a list: the engines index it per op)
ARITY: list[int] = [info.arity for info in OPS] + [-1] * (256 - COUNT)
ARITY[LEAF] = 0

NAMES: dict[str, int] = {info.name: code for code, info in enumerate(OPS)}

# ops with a number constant c
CONSTANT_OPS = frozenset({ADDC, SUBC, RSUBC, MULC, DIVC, RDIVC, POWC, RPOWC})

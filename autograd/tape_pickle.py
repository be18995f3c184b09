"""The pickled form of a Tape: what it holds, and loading it back safely.

A tape pickles as its graph laid out flat in the order it records (each node
after its inputs, the root last: the sweep's post-order) and its leaves'
current values, in a dict of plain types:

    format      FORMAT, the name of this format
    version     VERSION; a loader refuses any other
    byteorder   "little" or "big": the machine that wrote the arrays
    ops         the names of the ops used, by local code: a payload does not
                depend on the numbering of the op table of the writer
    op          array('H') bytes: each position's op, as an index into ops
    a, b        array('i') bytes: each position's inputs, as positions
                (1-based; 0 where the op has no such input)
    c           array('d') bytes: each position's constant (0.0 if none)
    leaf_values array('d') bytes: the leaves' values, in order of position
    labels      {leaf number: label} for the leaves that have one
    crc32       zlib.crc32 of op, a, b, c and leaf_values, in that order

``load`` checks all of it before it builds anything (a corrupted or foreign
payload raises TapeFormatError, never reaches the engine), then builds the
graph on the current backend with the engine's own ops, leaves first as new
Values: the same rules give the same values, and the same wiring gives the
same tape, so ``run`` and ``run_batch`` give the original's results bit for
bit from the same leaf values, on either backend.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from typing import Any

from . import backend, ops
from .engine import Engine
from .replay import Tape
from .value import Value, _wrap

FORMAT = "scalar-autograd tape"
VERSION = 1

_ARRAYS = (("op", "H"), ("a", "i"), ("b", "i"), ("c", "d"), ("leaf_values", "d"))


class TapeFormatError(ValueError):
    """A pickled tape that this autograd cannot load: another format or
    version, or a payload that was corrupted."""


def payload(tape: Tape) -> dict[str, Any]:
    """The payload of ``tape`` (see the module's doc); its leaves' values
    are read now."""
    eng = tape._eng
    with tape._lock:
        tape._live()
        f = eng.flat(tape._root._id)
        leaf_values = array("d", (eng.value(f.id[i]) for i in range(1, f.n + 1) if f.op[i] == ops.LEAF))
    used = sorted(set(f.op[1:]))
    local = {code: k for k, code in enumerate(used)}
    fields = {
        "op": array("H", (local[code] for code in f.op[1:])).tobytes(),
        "a": array("i", f.a[1:]).tobytes(),
        "b": array("i", f.b[1:]).tobytes(),
        "c": array("d", f.c[1:]).tobytes(),
        "leaf_values": leaf_values.tobytes(),
    }
    labels = {}
    leaf = 0
    for i in range(1, f.n + 1):
        if f.op[i] == ops.LEAF:
            label = eng.labels.get(f.id[i])
            if label is not None:
                labels[leaf] = label
            leaf += 1
    return {"format": FORMAT, "version": VERSION, "byteorder": sys.byteorder,
            "ops": [ops.OPS[code].name for code in used], **fields, "labels": labels,
            "crc32": _crc(fields)}


def _crc(fields: dict[str, bytes]) -> int:
    crc = 0
    for name, _ in _ARRAYS:
        crc = zlib.crc32(fields[name], crc)
    return crc


def _bad(why: str) -> TapeFormatError:
    return TapeFormatError(f"cannot load this tape: {why}")


def _arrays(p: dict[str, Any]) -> dict[str, array[Any]]:
    """The payload's arrays, checked against its checksum, in this machine's
    byte order."""
    fields = {}
    for name, _ in _ARRAYS:
        data = p.get(name)
        if not isinstance(data, bytes):
            raise _bad(f"field {name!r} is missing or not bytes")
        fields[name] = data
    if p.get("crc32") != _crc(fields):
        raise _bad("its checksum does not match its contents: the payload was corrupted")
    out = {}
    for name, typecode in _ARRAYS:
        arr = array(typecode)
        if len(fields[name]) % arr.itemsize:
            raise _bad(f"field {name!r} is not a whole number of {typecode!r} items")
        arr.frombytes(fields[name])
        if p["byteorder"] != sys.byteorder:
            arr.byteswap()
        out[name] = arr
    return out


def _checked(p: Any) -> tuple[list[int], dict[str, array[Any]], dict[int, str]]:
    """(each position's op code in this table, the arrays, the labels), or
    TapeFormatError saying what is wrong."""
    if not isinstance(p, dict) or p.get("format") != FORMAT:
        raise _bad(f"it is not a {FORMAT!r} payload")
    if p.get("version") != VERSION:
        raise _bad(f"it is format version {p.get('version')!r}, and this autograd reads version "
                   f"{VERSION}: load it with the autograd that wrote it, or a newer one")
    if p.get("byteorder") not in ("little", "big"):
        raise _bad("its byte order is missing")
    names = p.get("ops")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _bad("its op names are missing")
    codes = []
    for name in names:
        op = ops.BY_NAME.get(name)
        if op is None or op.code == ops.PRIMITIVE:
            raise _bad(f"it uses the op {name!r}, which this autograd cannot replay")
        codes.append(op.code)
    arrs = _arrays(p)
    n = len(arrs["op"])
    if n == 0 or any(len(arrs[name]) != n for name in ("a", "b", "c")):
        raise _bad("its op, a, b and c arrays differ in length (or are empty)")
    op_code = []
    read = bytearray(n + 1)             # by position: whether a later node reads it
    leaves = 0
    for i in range(1, n + 1):
        k = arrs["op"][i - 1]
        if k >= len(codes):
            raise _bad(f"position {i} has an op index out of range")
        code = codes[k]
        arity = ops.ARITY[code]
        a, b = arrs["a"][i - 1], arrs["b"][i - 1]
        wanted = (a > 0) + (b > 0)
        if wanted != arity or (arity == 1 and b != 0) or not (0 <= a < i and 0 <= b < i):
            raise _bad(f"position {i} ({ops.OPS[code].name}) has inputs {a}, {b}: a node's "
                       "inputs must be earlier positions, as many as its op takes")
        read[a] = read[b] = 1
        leaves += code == ops.LEAF
        op_code.append(code)
    if not all(read[1:n]):
        raise _bad("a node other than the last is read by no later node: the root must be last")
    if len(arrs["leaf_values"]) != leaves:
        raise _bad(f"it has {len(arrs['leaf_values'])} leaf values for {leaves} leaves")
    labels = p.get("labels", {})
    if not isinstance(labels, dict) or not all(
            isinstance(k, int) and 0 <= k < leaves and isinstance(v, str) for k, v in labels.items()):
        raise _bad("its labels are not {leaf number: str}")
    return op_code, arrs, labels


def load(p: Any, eng: Engine | None = None) -> Tape:
    """A standalone tape from payload ``p``, built on ``eng`` (default: the
    current backend's engine), with new leaf Values (``tape.leaves``)."""
    op_code, arrs, labels = _checked(p)
    eng = backend.engine if eng is None else eng
    a, b, c, leaf_values = arrs["a"], arrs["b"], arrs["c"], arrs["leaf_values"]
    # Values hold every node while the graph is built: one per position
    held: list[Value] = []
    leaves: list[Value] = []
    for i, code in enumerate(op_code):
        if code == ops.LEAF:
            v = _wrap(eng, eng.leaf(leaf_values[len(leaves)]))
            if len(leaves) in labels:
                v.label = labels[len(leaves)]
            leaves.append(v)
        else:
            x = held[a[i] - 1]._id
            y = held[b[i] - 1]._id if b[i] else -1
            v = _wrap(eng, eng.apply(code, x, y, c[i]))
        held.append(v)
    tape = Tape(held[-1])
    # the new graph is the payload's, so the tape finds its leaves in the
    # payload's order; checked, since tape.leaves promises that order
    if eng.tape_leaves(tape._tape) != [v._id for v in leaves]:
        tape.close()
        raise _bad("its nodes are not in the order a tape records them")
    tape._leaves = tuple(leaves)
    return tape


def _load_pickled(p: Any) -> Tape:
    """What pickle calls to rebuild a Tape (its name is part of the format)."""
    return load(p)


"""The C engine (csrc/, compiled by cffi into autograd._engine) as an Engine.

Raises ImportError when the compiled module is missing, or when it was built
from another op table than autograd/ops.py.  The node functions are the cffi
functions themselves, so an op costs one cffi call and no Python wrapper.
"""

from __future__ import annotations

from array import array
from typing import Any

from .. import ops
from .._engine import ffi, lib  # type: ignore[import-not-found]
from . import HOT, Engine, NodeInfo


def _check_op_table() -> None:
    """The compiled table must be autograd/ops.py's, and every op must have a
    rule in csrc/rules.h: a missing one would be an error at every use."""
    if not hasattr(lib, "ag_op_count"):
        raise ImportError("autograd: the compiled C engine is older than its sources: rebuild it "
                          "(pip install -e .)")
    if lib.ag_op_count() != ops.COUNT:
        raise ImportError(f"autograd: the C engine has {lib.ag_op_count()} ops, autograd/ops.py "
                          f"{ops.COUNT}: rebuild it (pip install -e .)")
    for op in ops.OPS:
        name = lib.ag_op_name(op.code)
        if ffi.string(name).decode() != op.name or lib.ag_op_arity(op.code) != op.arity:
            raise ImportError(f"autograd: op {op.code} is {op.name!r} in autograd/ops.py but not in "
                              "the C engine: rebuild it (pip install -e .)")
        if not lib.ag_op_has_rule(op.code):
            raise ImportError(f"autograd: the C engine has no rule for op {op.name!r}: add its row "
                              "to csrc/rules.h")


_check_op_table()


class CEngine(Engine):
    __slots__ = ()
    name = "c"
    # ffi.new is the only allocation: a MemoryError comes before ag_release
    release_is_all_or_nothing = True

    retain = lib.ag_retain
    check = lib.ag_check
    fail_after = lib.ag_fail_after
    find_stale = lib.ag_find_stale

    def __init__(self) -> None:
        super().__init__({name: getattr(lib, "ag_" + name) for name in HOT})

    @staticmethod
    def release(ids: list[int]) -> int:
        return lib.ag_release(ffi.new("int32_t[]", ids), len(ids))  # type: ignore[no-any-return]

    @staticmethod
    def collect(held: list[int]) -> int:
        return lib.ag_collect(ffi.new("int32_t[]", held), len(held))  # type: ignore[no-any-return]

    @staticmethod
    def node_info(node: int) -> NodeInfo | None:
        out = ffi.new("ag_node *")
        if lib.ag_node_info(node, out) != 0:
            return None
        return NodeInfo(out.op, out.a, out.b, out.refs, out.c, out.value, out.grad)

    @staticmethod
    def get_stats() -> tuple[int, int, int]:
        out = ffi.new("ag_stats *")
        lib.ag_get_stats(out)
        return (out.live_nodes, out.capacity, out.free_nodes)

    @staticmethod
    def id_array(ids: list[int]) -> Any:
        return (ffi.new("int32_t[]", ids), len(ids))

    @staticmethod
    def descend(ids: Any, lr: float) -> int:
        return lib.ag_descend(ids[0], ids[1], lr)  # type: ignore[no-any-return]

    @staticmethod
    def zero_grads(ids: Any) -> int:
        return lib.ag_zero_grads(ids[0], ids[1])  # type: ignore[no-any-return]

    @staticmethod
    def backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
        out = ffi.new("ag_anomaly *")
        status = lib.ag_backward_checked(root, seed, out)
        if status == lib.AG_ENAN:
            return status, out.node, out.input, out.g
        return status, -1, -1, 0.0

    @staticmethod
    def topo(root: int) -> list[int] | int:
        cap = 256
        while True:
            buf = ffi.new("int32_t[]", cap)
            n = lib.ag_topo(root, buf, cap)
            if n < 0 or n <= cap:
                return n if n < 0 else list(buf[0:n])  # type: ignore[no-any-return]
            cap = n

    @staticmethod
    def gradients(root: int, seed: float, ids: list[int]) -> list[float] | int:
        out = ffi.new("double[]", len(ids))
        status = lib.ag_gradients(root, seed, ffi.new("int32_t[]", ids), len(ids), out)
        return status if status else list(out)  # type: ignore[no-any-return]

    @staticmethod
    def tape_new(root: int) -> Any:
        status = ffi.new("int *")
        tape = lib.ag_tape_new(root, status)
        if tape == ffi.NULL:
            return status[0]
        # freed by the garbage collector at the latest; Tape.close frees it now
        return (ffi.gc(tape, lib.ag_tape_free), ffi.new("double *"))

    @staticmethod
    def tape_size(tape: Any) -> int:
        return lib.ag_tape_size(tape[0])  # type: ignore[no-any-return]

    @staticmethod
    def tape_run(tape: Any, seed: float) -> float:
        handle, out = tape
        lib.ag_tape_run(handle, seed, out)
        return out[0]  # type: ignore[no-any-return]

    @staticmethod
    def tape_free(tape: Any) -> None:
        ffi.release(tape[0])

    @staticmethod
    def tape_leaves(tape: Any) -> list[int]:
        n = lib.ag_tape_leaves(tape[0], ffi.NULL, 0)
        buf = ffi.new("int32_t[]", n)
        lib.ag_tape_leaves(tape[0], buf, n)
        return list(buf[0:n])  # type: ignore[no-any-return]

    @staticmethod
    def tape_run_batch(tape: Any, nrows: int, col_ids: list[int], cols: list[Any], seed: float,
                       grad_ids: list[int], accumulate: bool, threads: int
                       ) -> tuple[array[float], list[array[float]]] | int:
        values = array("d", bytes(8 * nrows))
        grads = [array("d", bytes(8 * nrows)) for _ in grad_ids]
        # the cdata from from_buffer keep their buffers alive until the call returns
        col_bufs = [ffi.from_buffer("double[]", col) for col in cols]
        grad_bufs = [ffi.from_buffer("double[]", g, require_writable=True) for g in grads]
        status = lib.ag_tape_run_batch(
            tape[0], nrows, ffi.new("int32_t[]", col_ids), ffi.new("double *[]", col_bufs), len(cols),
            seed, ffi.new("int32_t[]", grad_ids), ffi.new("double *[]", grad_bufs), len(grad_ids),
            ffi.from_buffer("double[]", values, require_writable=True), int(accumulate), threads)
        return status if status else (values, grads)  # type: ignore[no-any-return]


ENGINE = CEngine()

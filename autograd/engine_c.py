"""The C engine (csrc/, compiled by cffi into autograd._engine) as an Engine.

Raises ImportError when the compiled module is missing.  The lib functions
are bound directly, so an op costs one cffi call and no Python wrapper.
"""

from __future__ import annotations

from . import ops
from ._engine import ffi, lib  # type: ignore[import-not-found]
from .engine import Engine, NodeInfo


def _release(ids: list[int]) -> int:
    return lib.ag_release(ffi.new("int32_t[]", ids), len(ids))


def _node_info(node: int) -> NodeInfo | None:
    out = ffi.new("ag_node *")
    if lib.ag_node_info(node, out) != 0:
        return None
    return NodeInfo(out.op, out.a, out.b, out.refs, out.c, out.value, out.grad)


def _topo(root: int) -> list[int] | int:
    cap = 256
    while True:
        buf = ffi.new("int32_t[]", cap)
        n = lib.ag_topo(root, buf, cap)
        if n < 0 or n <= cap:
            return n if n < 0 else list(buf[0:n])
        cap = n


def _gradients(root: int, seed: float, ids: list[int]) -> list[float] | int:
    out = ffi.new("double[]", len(ids))
    status = lib.ag_gradients(root, seed, ffi.new("int32_t[]", ids), len(ids), out)
    return status if status else list(out)


def _backward_checked(root: int, seed: float) -> tuple[int, int, int, float]:
    out = ffi.new("ag_anomaly *")
    status = lib.ag_backward_checked(root, seed, out)
    if status == lib.AG_ENAN:
        return status, out.node, out.input, out.g
    return status, -1, -1, 0.0


def _stats() -> tuple[int, int, int]:
    out = ffi.new("ag_stats *")
    lib.ag_get_stats(out)
    return (out.live_nodes, out.capacity, out.free_nodes)


def _tape_new(root: int) -> object:
    status = ffi.new("int *")
    tape = lib.ag_tape_new(root, status)
    if tape == ffi.NULL:
        return status[0]
    # freed by the garbage collector at the latest; Tape.close frees it now
    return (ffi.gc(tape, lib.ag_tape_free), ffi.new("double *"))


def _tape_run(tape: tuple, seed: float) -> float:
    handle, out = tape
    lib.ag_tape_run(handle, seed, out)
    return out[0]


def _tape_size(tape: tuple) -> int:
    return lib.ag_tape_size(tape[0])


def _tape_free(tape: tuple) -> None:
    ffi.release(tape[0])


def _id_array(ids: list[int]) -> tuple:
    return (ffi.new("int32_t[]", ids), len(ids))


def _sgd(ids: tuple, lr: float) -> int:
    return lib.ag_sgd(ids[0], ids[1], lr)


def _check_op_codes() -> None:
    for code, info in enumerate(ops.OPS):
        c_code = getattr(lib, "AG_OP_" + info.name.upper())
        if c_code != code:
            raise ImportError(f"autograd: op {info.name} is {code} in ops.py but {c_code} in C")


_check_op_codes()

ENGINE = Engine(
    "c",
    leaf=lib.ag_leaf,
    apply=lib.ag_apply,
    apply_detached=lib.ag_apply_detached,
    value=lib.ag_value,
    grad=lib.ag_grad,
    set_value=lib.ag_set_value,
    set_grad=lib.ag_set_grad,
    retain=lib.ag_retain,
    backward=lib.ag_backward,
    backward_checked=_backward_checked,
    check=lib.ag_check,
    fail_after=lib.ag_fail_after,
    release=_release,
    node_info=_node_info,
    topo=_topo,
    gradients=_gradients,
    stats=_stats,
    tape_new=_tape_new,
    tape_run=_tape_run,
    tape_size=_tape_size,
    tape_free=_tape_free,
    id_array=_id_array,
    sgd=_sgd,
)

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
    stats=_stats,
)

"""The pure-Python engine: the same arena, rules and sweep as csrc/, in Python."""

from __future__ import annotations

from ..engine import Engine, NodeInfo
from . import arena, backward, replay


def _node_info(node: int) -> NodeInfo | None:
    info = arena.node_info(node)
    return None if info is None else NodeInfo(*info)


ENGINE = Engine(
    "python",
    leaf=arena.leaf,
    apply=arena.apply,
    apply_detached=arena.apply_detached,
    value=arena.get_value,
    grad=arena.get_grad,
    set_value=arena.set_value,
    set_grad=arena.set_grad,
    retain=arena.retain,
    backward=backward.backward,
    backward_checked=backward.backward_checked,
    check=arena.check,
    fail_after=arena.fail_after,
    release=arena.release,
    node_info=_node_info,
    topo=backward.topo,
    gradients=backward.gradients,
    stats=arena.get_stats,
    tape_new=replay.tape_new,
    tape_run=replay.tape_run,
    tape_size=replay.tape_size,
    tape_free=replay.tape_free,
    id_array=list,
    sgd=replay.sgd,
)

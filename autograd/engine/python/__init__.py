"""The pure-Python engine: csrc/ in Python, file for file.

    csrc/arena.c  -> arena.py    the nodes, reference counts, free list, bulk updates
    csrc/stale.c  -> stale.py    a graph whose leaf changed after it was built
    csrc/sweep.c  -> sweep.py    the flat layout and the reverse sweep
    csrc/tape.c   -> tape.py     replay
    csrc/rules.h  -> rules.py    each op's value and local derivatives

The functions have the C names without ``ag_`` and the same contracts, the
same formulas and the same order of operations, so both engines agree bit
for bit.
"""

from __future__ import annotations

from typing import Any

from .. import Engine, NodeInfo
from . import arena, stale, sweep, tape


class PythonEngine(Engine):
    __slots__ = ()
    name = "python"

    retain = staticmethod(arena.retain)
    release = staticmethod(arena.release)
    get_stats = staticmethod(arena.get_stats)
    check = staticmethod(arena.check)
    descend = staticmethod(arena.descend)
    zero_grads = staticmethod(arena.zero_grads)
    find_stale = staticmethod(stale.find_stale)
    collect = staticmethod(arena.collect)
    fail_after = staticmethod(arena.fail_after)
    backward_checked = staticmethod(sweep.backward_checked)
    topo = staticmethod(sweep.topo)
    gradients = staticmethod(sweep.gradients)
    tape_new = staticmethod(tape.tape_new)
    tape_size = staticmethod(tape.tape_size)  # type: ignore[assignment]
    tape_run = staticmethod(tape.tape_run)  # type: ignore[assignment]
    tape_free = staticmethod(tape.tape_free)  # type: ignore[assignment]
    tape_leaves = staticmethod(tape.tape_leaves)  # type: ignore[assignment]
    tape_run_batch = staticmethod(tape.tape_run_batch)  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__({"leaf": arena.leaf, "apply": arena.apply, "apply_detached": arena.apply_detached,
                          "value": arena.value, "grad": arena.grad, "set_value": arena.set_value,
                          "set_grad": arena.set_grad, "backward": sweep.backward})

    @staticmethod
    def id_array(ids: list[int]) -> list[int]:
        return list(ids)

    @staticmethod
    def node_info(node: int) -> NodeInfo | None:
        info = arena.node_info(node)
        return None if info is None else NodeInfo(*info)

    def flat(self, root: int) -> Any:
        """The graph below root as its own sweep lays it out (a copy)."""
        from ... import errors

        with arena.ar.lock:
            if not arena.is_live(root):
                errors.raise_for_status(errors.EBADID)
            return errors.checked(sweep.flat_order(root))


ENGINE = PythonEngine()

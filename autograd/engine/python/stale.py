"""Finding a graph whose leaf changed after the graph read it: the twin of
csrc/stale.c.

Each node carries a stamp: the arena's epoch when its value was computed, or,
for a leaf, when its value was last set (each set bumps the epoch).  An input
stamped later than a node that reads it has changed since: the sweeps refuse
the graph (ESTALE) and ``find_stale`` names the input.  Replay recomputes
every value and restamps it (tape.py), so it is never stale.
"""

from __future__ import annotations

from typing import Any

from ... import errors
from .arena import ar, is_live


def stale_input(f: Any) -> int:
    """The first input (in layout order) of the flat graph f whose value was
    written after a node read it, or -1.  Call with the lock held."""
    stamp, ids, a, b, epoch = ar.stamp, f.id, f.a, f.b, ar.epoch
    # the usual case first: every node computed since the last write to a
    # leaf (the graph was built after the update), so no input is newer
    for i in range(1, f.n + 1):
        if a[i] != 0 and stamp[ids[i]] != epoch:
            break
    else:
        return -1
    for i in range(1, f.n + 1):
        ia = a[i]
        if ia == 0:                 # a leaf
            continue
        read = stamp[ids[i]]
        if stamp[ids[ia]] > read:
            return ids[ia]
        ib = b[i]
        if ib != 0 and stamp[ids[ib]] > read:
            return ids[ib]
    return -1


def find_stale(root: int) -> int:
    """The input that makes the graph below root stale, -1 if none; EBADID
    or ENOMEM."""
    from . import sweep  # sweep.py imports this module

    with ar.lock:
        if not is_live(root):
            return errors.EBADID
        f = sweep.flat_order(root)
        if isinstance(f, int):
            return f
        return stale_input(f)

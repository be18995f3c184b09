"""autograd: scalar reverse-mode automatic differentiation, graph and sweep in C.

    >>> import autograd as ag
    >>> x = ag.Value(2.0)
    >>> y = x * x + 2 ** x - 1 / x
    >>> y.backward()
    >>> x.grad                          # 2x + 2**x ln 2 + 1/x**2
    7.022588722239782
"""

from __future__ import annotations

from collections.abc import Iterable

from . import backend as _backend
from . import nn
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .backend import BackendWarning, get_backend, set_backend
from .compile import compile  # noqa: A004  (ag.compile, as jax.jit; builtins.compile stays)
from .errors import GradcheckError, StaleGraphError
from .functional import SecondDerivativeError, grad, gradients, hessian, value_and_grad, vjp
from .gradcheck import GradcheckReport, GradgradcheckReport, gradcheck, gradgradcheck
from .learn.explain import Explanation, explain
from .learn.pictures import Graph, GraphvizError, draw, graph, to_dot
from .modes import enable_grad, is_grad_enabled, no_grad
from .nn import datasets, losses, optim
from .primitive import primitive
from .value import FREE_FUNCTIONS, GraphLeakWarning, Value

__version__ = "0.1.0"

# the math functions, one per unary op of the table: ag.exp(x), ag.cos(x), ...
globals().update(FREE_FUNCTIONS)

__all__ = [
    "BackendWarning",
    "GradcheckError",
    "StaleGraphError",
    "GradcheckReport",
    "GraphLeakWarning",
    "Value",
    "available_backends",
    "check",
    "collect",
    "compile",
    "detect_anomaly",
    "get_backend",
    "gradcheck",
    "is_anomaly_enabled",
    "set_backend",
    "set_detect_anomaly",
    "stats",
    "zero_grad",
    *FREE_FUNCTIONS,
    # the functional API
    "GradgradcheckReport",
    "SecondDerivativeError",
    "enable_grad",
    "grad",
    "gradgradcheck",
    "gradients",
    "hessian",
    "is_grad_enabled",
    "no_grad",
    "primitive",
    "value_and_grad",
    "vjp",
    # networks, training and the learner's tools
    "Explanation",
    "Graph",
    "GraphvizError",
    "datasets",
    "draw",
    "explain",
    "graph",
    "losses",
    "nn",
    "optim",
    "to_dot",
]


def zero_grad(values: Iterable[Value]) -> None:
    """Reset the .grad of every Value in ``values`` to 0."""
    for v in values:
        v.zero_grad()


def stats(backend: str | None = None) -> dict[str, int]:
    """{"live_nodes": nodes alive now, "capacity": arena size in nodes} for
    ``backend`` (default: the current one).  Pending releases are applied first."""
    return _backend.ENGINES[backend or get_backend()].stats()


def check(backend: str | None = None) -> int:
    """Verify the arena's invariants (reference counts match the graph, the
    free list holds only free nodes, no live node uses a freed one, ids in
    bounds).  Returns the number of violations: 0 when consistent."""
    names = [backend] if backend else available_backends()
    total = 0
    for name in names:
        eng = _backend.ENGINES[name]
        eng.flush()
        found = eng.check()
        if found < 0:
            raise MemoryError("autograd.check: out of memory")
        total += found
    return total


def collect(backend: str | None = None) -> int:
    """Reclaim the nodes that no Value holds any more but that are still
    alive: what an interrupt (Ctrl-C, a signal handler raising) leaves when
    it arrives between the engine making a node and the Value that would
    hold it.  Runs the garbage collector, then counts every handle Python
    holds (each Value's, each open Tape's) and drops the rest.  For
    ``backend``, default: all available.  Returns the number of handles
    dropped.

    Call it when no other thread is using autograd (for example after a
    KeyboardInterrupt has stopped a training loop): a node another thread
    has just made, but not yet given to its Value, would look orphaned."""
    import gc

    from . import errors
    from .replay import Tape

    gc.collect()
    names = [backend] if backend else available_backends()
    dropped = 0
    for name in names:
        eng = _backend.ENGINES[name]
        eng.flush()
        held: list[int] = []
        for obj in gc.get_objects():
            if isinstance(obj, Value):
                if obj._eng is eng:
                    held.append(obj._id)
            elif isinstance(obj, Tape) and obj._eng is eng and obj._root is not None:
                held.extend(errors.checked(eng.topo(obj._root._id)))  # a tape holds each node once
        found = eng.collect(held)
        if found < 0:
            errors.raise_for_status(found)
        dropped += found
    return dropped


def available_backends() -> list[str]:
    """The backends that can be used in this process: ["c", "python"] or ["python"]."""
    return _backend.available_backends()

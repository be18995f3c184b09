"""no_grad: ops record nothing (results are leaves), nestable, per thread."""

from __future__ import annotations

import threading

import autograd as ag


def _f(x: ag.Value) -> ag.Value:
    return ((x * 2.0).exp() + x / 3.0).sin() - 2.0**x + x.tanh() * x


def test_results_are_leaves_with_the_same_value(backend: str) -> None:
    x = ag.Value(0.7)
    recorded = _f(x)
    with ag.no_grad():
        y = _f(x)
    assert y.op == "leaf" and y.inputs == ()
    assert y.data.hex() == recorded.data.hex()


def test_no_graph_nodes_are_built(backend: str) -> None:
    x = ag.Value(0.7)
    before = ag.stats()["live_nodes"]
    with ag.no_grad():
        ys = [_f(x) for _ in range(50)]
    # 50 results, each a leaf: nothing else stays alive, nothing hangs off x
    assert ag.stats()["live_nodes"] == before + 50
    assert all(y.op == "leaf" for y in ys)
    assert ag.check() == 0


def test_backward_through_a_no_grad_result_stops_there(backend: str) -> None:
    x = ag.Value(1.5)
    with ag.no_grad():
        h = x * x
    y = h * x
    y.backward()
    assert x.grad == h.data          # only the recorded factor x
    assert h.grad == x.data


def test_nesting_and_restoring(backend: str) -> None:
    x = ag.Value(1.0)
    assert ag.is_grad_enabled()
    with ag.no_grad():
        with ag.no_grad():
            assert (x + 1).op == "leaf"
        assert not ag.is_grad_enabled()
        assert (x + 1).op == "leaf"
    assert ag.is_grad_enabled()
    assert (x + 1).op == "addc"


def test_restored_after_an_exception(backend: str) -> None:
    x = ag.Value(1.0)
    try:
        with ag.no_grad():
            raise KeyError
    except KeyError:
        pass
    assert ag.is_grad_enabled() and (x * x).op == "mul"


def test_decorator(backend: str) -> None:
    @ag.no_grad()
    def square(v: ag.Value) -> ag.Value:
        return v * v

    x = ag.Value(3.0)
    assert square(x).op == "leaf" and square(x).data == 9.0
    assert (x * x).op == "mul"


def test_enable_grad_inside_no_grad(backend: str) -> None:
    x = ag.Value(1.0)
    with ag.no_grad():
        with ag.enable_grad():
            assert (x * x).op == "mul"
        assert (x * x).op == "leaf"


def test_every_op_and_function_is_detached(backend: str) -> None:
    x, y = ag.Value(0.6), ag.Value(1.3)
    with ag.no_grad():
        outs = [x + y, x - y, x * y, x / y, x**y, x + 2, 2 + x, x - 2, 2 - x, x * 2, 2 * x,
                x / 2, 2 / x, x**2, 2**x, -x, abs(x), x.exp(), x.log(), x.sin(), x.cos(),
                x.tanh(), x.relu(), x.sigmoid(), x.sqrt(), ag.exp(x)]
    assert all(v.op == "leaf" for v in outs)


def test_per_thread(backend: str) -> None:
    x = ag.Value(2.0)
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, str] = {}

    def worker() -> None:
        with ag.no_grad():
            inside.set()
            release.wait(10)
            seen["worker"] = (x * x).op

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    seen["main"] = (x * x).op       # the worker's no_grad does not reach here
    release.set()
    t.join(10)
    assert seen == {"main": "mul", "worker": "leaf"}
    assert ag.is_grad_enabled()
    assert ag.modes.threads_in_no_grad == 0


def test_detach_is_a_constant_with_the_same_value(backend: str) -> None:
    x = ag.Value(1.25)
    y = (x * 3.0).detach()
    assert y.op == "leaf" and y.data == 3.75
    (y * x).backward()
    assert x.grad == 3.75 and y.grad == 1.25

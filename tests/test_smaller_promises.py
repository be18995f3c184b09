"""Issue 11, item 8: the smaller promises.

argnums naming one argument twice, a primitive inside a recorded tape, a
number beyond float64 that float() turns into inf, and a MemoryError inside
Engine.flush that lost a batch of releases.
"""

from __future__ import annotations

import pytest

import autograd as ag
from autograd import replay


def test_argnums_naming_an_argument_twice_gives_its_gradient_twice(backend):
    f = lambda x, y: x * x * y  # noqa: E731
    assert ag.grad(f, argnums=(0, 0))(3.0, 2.0) == (12.0, 12.0)
    assert ag.grad(f, argnums=(1, -1, 0))(3.0, 2.0) == (9.0, 9.0, 12.0)
    assert ag.value_and_grad(f, argnums=(0, 0))(3.0, 2.0) == (18.0, (12.0, 12.0))


def test_a_tape_refuses_a_primitive(backend):
    square = ag.primitive(lambda x: x * x, lambda x: 2 * x)
    x = ag.Value(2.0)
    with pytest.raises(replay.ReplayError, match="primitive"):
        replay.record(lambda: square(x) + 1.0, allow_reads=True)
    y = square(x) + 1.0          # eagerly it works
    y.backward()
    assert x.grad == 4.0


def test_a_number_beyond_float64_raises_overflow_error(backend):
    np = pytest.importorskip("numpy")
    big = np.longdouble("1e400")
    if big == np.longdouble("inf"):
        pytest.skip("this platform's long double is float64")
    with pytest.raises(OverflowError, match="too large for a Value"):
        ag.Value(big)
    with pytest.raises(OverflowError):
        ag.Value(1.0) + big
    assert ag.Value(np.longdouble("inf")).data == float("inf")     # inf itself is a value


def test_a_memory_error_in_flush_keeps_the_batch(monkeypatch):
    if "c" not in ag.available_backends():
        pytest.skip("C engine not built")
    from autograd.engine.c import ENGINE, CEngine
    ENGINE.flush()
    base = ENGINE.get_stats()[0]
    saved = ag.get_backend()
    ag.set_backend("c")
    try:
        vs = [ag.Value(float(i)) * 2.0 for i in range(100)]
        calls = []

        def failing_release(ids):
            calls.append(len(ids))
            raise MemoryError("the id array")       # as ffi.new would

        monkeypatch.setattr(CEngine, "release", staticmethod(failing_release))
        del vs
        with pytest.raises(MemoryError):
            ENGINE.flush()
        assert calls
        monkeypatch.undo()
        ENGINE.flush()
        assert ENGINE.get_stats()[0] == base
        assert ag.check("c") == 0
    finally:
        ag.set_backend(saved)


def test_a_value_can_be_weakly_referenced(backend):
    import gc
    import weakref

    v = ag.Value(2.0)
    ref = weakref.ref(v)
    assert ref() is v
    cache = weakref.WeakValueDictionary({"v": v})
    assert cache["v"].data == 2.0
    del v
    gc.collect()
    assert ref() is None and "v" not in cache

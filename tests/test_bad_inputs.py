"""Bad inputs: each gets an exception of the right type with a clear message,
and the arena stays consistent (the ``backend`` fixture checks it)."""

from __future__ import annotations

import copy
import operator
import pickle
from fractions import Fraction

import pytest

import autograd as ag

try:
    import numpy as np  # type: ignore[no-redef]
except ImportError:  # pragma: no cover
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="numpy not installed")


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], object(), 1j, True, False])
def test_value_refuses_non_real(backend, bad):
    with pytest.raises(TypeError, match=r"Value\(\) takes a real number, not"):
        ag.Value(bad)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], object(), 1j, True])
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow])
def test_ops_refuse_non_real(backend, bad, op):
    v = ag.Value(2.0)
    before = ag.stats()["live_nodes"]
    with pytest.raises(TypeError, match="unsupported operand|can only concatenate|can't multiply"):
        op(v, bad)
    with pytest.raises(TypeError):
        op(bad, v)
    assert ag.stats()["live_nodes"] == before, "a refused op must not leave a node behind"


def test_bool_is_refused_with_its_name(backend):
    v = ag.Value(1.0)
    with pytest.raises(TypeError, match="'Value' and 'bool'"):
        v + True
    with pytest.raises(TypeError, match="bool"):
        v.data = True


def test_real_number_types_are_accepted(backend):
    v = ag.Value(Fraction(1, 4))
    assert (v * Fraction(1, 2)).data == 0.125
    assert (v + 3).data == 3.25


@pytest.mark.parametrize(
    "huge",
    [10**400, -(10**400), 10**5000, Fraction(10**400, 3)],
    ids=["1e400", "-1e400", "1e5000", "fraction"],
)
def test_huge_numbers_raise_overflow_with_a_clear_message(backend, huge):
    v = ag.Value(1.0)
    with pytest.raises(OverflowError, match="too large for a Value"):
        ag.Value(huge)
    with pytest.raises(OverflowError, match="too large for a Value"):
        v * huge
    with pytest.raises(OverflowError, match="too large for a Value"):
        huge - v
    with pytest.raises(OverflowError, match="too large for a Value"):
        v.backward(huge)
    with pytest.raises(OverflowError, match="too large for a Value"):
        v.data = huge
    assert v.data == 1.0 and v.grad == 0.0


def test_large_int_that_fits_is_rounded_not_refused(backend):
    assert ag.Value(2**1023).data == float(2**1023)


@needs_numpy
def test_numpy_arrays_raise_type_error_not_elementwise(backend):
    v = ag.Value(2.0)
    arr = np.array([1.0, 2.0])
    for make in (
        lambda: v + arr,
        lambda: arr + v,
        lambda: arr * v,
        lambda: v**arr,
        lambda: np.array(3.0) - v,
        lambda: v / np.array(3.0),
    ):
        with pytest.raises(TypeError, match="ndarray|ufunc"):
            make()
    with pytest.raises(TypeError, match="not ndarray"):
        ag.Value(arr)
    with pytest.raises(TypeError):
        np.exp(v)


@needs_numpy
def test_numpy_scalars_are_numbers(backend):
    v = ag.Value(2.0)
    assert (v * np.float64(3.0)).data == 6.0
    assert (np.float64(3.0) * v).data == 6.0
    assert (v + np.int64(1)).data == 3.0
    assert ag.Value(np.float32(0.5)).data == 0.5


def test_values_of_two_backends_do_not_mix(both_backends):
    ag.set_backend("c")
    vc = ag.Value(1.0)
    ag.set_backend("python")
    vp = ag.Value(1.0)
    for make in (lambda: vc + vp, lambda: vp * vc, lambda: vc**vp, lambda: vp - vc, lambda: vc / vp):
        with pytest.raises(TypeError, match="cannot combine a Value of the '(c|python)' backend"):
            make()


def test_setting_data_on_a_non_leaf_is_an_attribute_error(backend):
    x = ag.Value(2.0)
    y = x * 3
    with pytest.raises(AttributeError, match="only set .data on a leaf"):
        y.data = 5.0
    assert y.data == 6.0
    x.data = 5.0  # a leaf: allowed; y keeps the value it was computed with
    assert x.data == 5.0 and y.data == 6.0


@pytest.mark.parametrize("seed", ["1", None, [1.0], 1j, True])
def test_backward_seed_must_be_a_real_number(backend, seed):
    x = ag.Value(2.0)
    y = x * x
    with pytest.raises(TypeError, match="backward\\(\\) takes a real number seed"):
        y.backward(seed)
    assert x.grad == 0.0


def test_grad_setter_refuses_non_numbers(backend):
    x = ag.Value(2.0)
    with pytest.raises(TypeError, match=".grad takes a real number"):
        x.grad = "0"


def test_gradcheck_bad_function_and_inputs(backend):
    with pytest.raises(TypeError, match="f must return a Value, not float"):
        ag.gradcheck(lambda x: 1.0, [1.0])
    with pytest.raises(TypeError, match="f must return a Value, not tuple"):
        ag.gradcheck(lambda x: (x, x), [1.0])
    with pytest.raises(TypeError, match="f cannot take 1 inputs"):
        ag.gradcheck(lambda x, y: x * y, [1.0])
    with pytest.raises(TypeError, match="f cannot take 3 inputs"):
        ag.gradcheck(lambda x, y: x * y, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="inputs must be real numbers, not str"):
        ag.gradcheck(lambda x: x, ["1"])
    with pytest.raises(TypeError, match="f must be callable"):
        ag.gradcheck(3, [1.0])


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_pickling_or_copying_a_value_is_a_clear_error(backend, how):
    v = ag.Value(1.5)
    dump = {"pickle": pickle.dumps, "copy": copy.copy, "deepcopy": copy.deepcopy}[how]
    with pytest.raises(TypeError, match="cannot be pickled or copied"):
        dump(v)
    if how != "copy":  # a shallow copy of a list does not copy its items
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            dump([v * 2])


def test_free_functions_refuse_non_numbers(backend):
    with pytest.raises(TypeError, match=r"exp\(\) takes a Value or a real number, not str"):
        ag.exp("1")
    with pytest.raises(TypeError, match="bool"):
        ag.log(True)


def test_pow_with_modulo_is_refused(backend):
    with pytest.raises(TypeError):
        pow(ag.Value(2.0), 2, 3)

"""Scalar lifting, types the operators refuse, and backend selection."""

from __future__ import annotations

import fractions
import os
import pickle
import subprocess
import sys

import pytest

import autograd as ag
from autograd import backend as ag_backend
from autograd import errors, ops

try:
    import numpy as np
except ImportError:  # numpy is optional: the numpy cases skip
    np = None


def real_numbers():
    out = [3, 2.5, fractions.Fraction(1, 4)]
    if np is not None:
        out += [np.float64(2.5), np.float32(0.5), np.int64(3), np.int32(-2)]
    return out


def test_lifting_on_either_side(backend):
    x = ag.Value(2.0)
    for c in real_numbers():
        f = float(c)
        cases = [
            (x + c, 2.0 + f), (c + x, f + 2.0),
            (x - c, 2.0 - f), (c - x, f - 2.0),
            (x * c, 2.0 * f), (c * x, f * 2.0),
            (x / c, 2.0 / f), (c / x, f / 2.0),
            (x**c, 2.0**f), (c**x, f**2.0),
        ]
        for out, want in cases:
            assert isinstance(out, ag.Value), (type(c), out)
            assert out.data == want
            assert len(out.inputs) == 1  # the number is a constant, not a node


@pytest.mark.parametrize("bad", [True, False, 1j, "2", None, [1.0], (1.0,), {"a": 1}])
def test_operators_refuse_non_real(backend, bad):
    x = ag.Value(1.0)
    for op in ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__",
               "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"]:
        assert getattr(x, op)(bad) is NotImplemented
    with pytest.raises(TypeError):
        x + bad
    with pytest.raises(TypeError):
        bad * x
    with pytest.raises(TypeError):
        ag.Value(bad)


def test_huge_int_overflows(backend):
    with pytest.raises(OverflowError):
        ag.Value(10**400)
    with pytest.raises(OverflowError):
        ag.Value(1.0) + 10**400


@pytest.mark.skipif(np is None, reason="numpy not installed")
def test_numpy_array_is_refused(backend):
    x = ag.Value(1.0)
    arr = np.array([1.0, 2.0])
    with pytest.raises(TypeError):
        x + arr
    with pytest.raises(TypeError):
        arr + x
    with pytest.raises(TypeError):
        arr * x
    with pytest.raises(TypeError):
        ag.Value(arr)


def test_pow_with_modulo_refused(backend):
    with pytest.raises(TypeError):
        pow(ag.Value(2.0), 3, 5)


def test_pickle_and_copy_refused(backend):
    import copy

    x = ag.Value(1.0)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(x)
    with pytest.raises(TypeError):
        copy.copy(x)
    with pytest.raises(TypeError):
        copy.deepcopy(x)


def test_mixed_backends_raise_type_error(both_backends):
    ag.set_backend("c")
    a = ag.Value(1.0)
    ag.set_backend("python")
    b = ag.Value(2.0)
    with pytest.raises(TypeError, match="backend"):
        a + b
    with pytest.raises(TypeError, match="backend"):
        b * a
    assert (a.backend, b.backend) == ("c", "python")
    assert (b + 1).backend == "python" and (a + 1).backend == "c"


def test_set_backend_validates():
    with pytest.raises(ValueError):
        ag.set_backend("fortran")


def test_the_c_engine_is_built_from_the_op_table(backend):
    """The C op table (generated from autograd/ops.py at build time) matches
    it, and the import check refuses a table it does not match."""
    if backend != "c":
        pytest.skip("the C engine's build")
    from autograd._engine import ffi, lib

    from autograd.engine import c as engine_c

    assert lib.ag_op_count() == ops.COUNT
    for op in ops.OPS:
        assert ffi.string(lib.ag_op_name(op.code)).decode() == op.name
        assert lib.ag_op_arity(op.code) == op.arity and lib.ag_op_has_rule(op.code)
    assert lib.ag_op_name(ops.COUNT) == ffi.NULL and lib.ag_op_arity(ops.COUNT) == -1
    saved = ops.OPS
    try:
        ops.OPS = saved[:-1] + (saved[-1]._replace(name="renamed"),)
        with pytest.raises(ImportError, match="rebuild"):
            engine_c._check_op_table()
        ops.OPS, ops.COUNT = saved + (saved[-1]._replace(code=len(saved)),), len(saved) + 1
        with pytest.raises(ImportError, match="rebuild"):
            engine_c._check_op_table()
    finally:
        ops.OPS, ops.COUNT = saved, len(saved)


def test_an_op_code_without_a_rule_is_an_error_never_the_identity(backend):
    from autograd.engine.python import rules

    eng = ag_backend.ENGINES[backend]
    x = ag.Value(2.0)
    for code in (ops.LEAF, ops.COUNT, 200, 255, -1, 256):
        assert eng.apply(code, x._id, -1, 0.0) == errors.EBADOP, code
        assert eng.apply_detached(code, x._id, -1, 0.0) == errors.EBADOP, code
    # an op of the table that the Python engine has no block for
    saved = rules.FORWARD[ops.EXP]
    rules.FORWARD[ops.EXP] = None
    try:
        with pytest.raises(ImportError, match="no rule for op"):
            rules._check()
        if backend == "python":
            assert eng.apply(ops.EXP, x._id, -1, 0.0) == errors.EBADOP
            with pytest.raises(ValueError, match="unknown op"):
                x.exp()
    finally:
        rules.FORWARD[ops.EXP] = saved
    assert x.exp().data == ag.exp(2.0)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "AUTOGRAD_BACKEND"}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)


def test_environment_forces_backend():
    out = run_python("import autograd as ag; print(ag.get_backend())", AUTOGRAD_BACKEND="python")
    assert out.returncode == 0 and out.stdout.strip() == "python"
    out = run_python("import autograd", AUTOGRAD_BACKEND="fortran")
    assert out.returncode != 0 and "AUTOGRAD_BACKEND" in out.stderr
    if ag_backend.C_ENGINE is not None:
        out = run_python("import autograd as ag; print(ag.get_backend())", AUTOGRAD_BACKEND="c")
        assert out.stdout.strip() == "c"
        out = run_python("import autograd as ag; print(ag.get_backend())")
        assert out.stdout.strip() == "c" and "BackendWarning" not in out.stderr


def test_missing_c_engine_warns_and_falls_back():
    # hide the compiled module: the import must fall back to Python with a warning
    code = (
        "import sys, warnings\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'autograd._engine': raise ImportError('blocked for the test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import autograd as ag\n"
        "print(ag.get_backend(), [str(x.message) for x in w])\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("python") and "blocked for the test" in out.stdout
    forced = "import sys\n" + code.split("with warnings")[0] + "import autograd\n"
    out = run_python(forced, AUTOGRAD_BACKEND="c")
    assert out.returncode != 0 and "blocked for the test" in out.stderr

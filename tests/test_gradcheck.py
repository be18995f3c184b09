"""gradcheck passes right gradients and names the likely cause of wrong ones."""

from __future__ import annotations

import itertools

import pytest

import autograd as ag
from autograd.gradcheck import DOUBLE, HALF, SIGN, STALE, ZERO


def test_passes_and_reports(backend):
    report = ag.gradcheck(lambda x, y: x * y + x.sin(), [0.3, -0.8])
    assert report and report.passed
    assert len(report.rows) == 2
    row = report.rows[0]
    assert row.analytic == pytest.approx(-0.8 + 0.9553364891256060, rel=1e-12)
    assert row.abs_error <= 1e-8
    text = str(report)
    assert "analytic" in text and "numeric" in text and "passed" in text


def check_fails_with(f, inputs, cause):
    report = ag.gradcheck(f, inputs)
    assert not report
    assert report.causes == [cause], str(report)
    assert cause in str(report)
    with pytest.raises(ag.GradcheckError, match="FAILED"):
        ag.gradcheck(f, inputs, raise_exception=True)
    return report


def test_half_gradient_is_missing_accumulation(backend):
    # x * x.data: one of the two paths through x is cut, as with `=` for `+=`
    check_fails_with(lambda x: x * x.data, [1.3], HALF)


def test_opposite_sign_is_operand_order(backend):
    # a right-hand op with swapped operands: value of 2 - x, gradient of x - 2
    check_fails_with(lambda x: (x - 2) + ag.Value(4 - 2 * x.data), [0.7], SIGN)


def test_zero_is_a_broken_path(backend):
    check_fails_with(lambda x: ag.Value(x.data * 3.0), [0.7], ZERO)


def test_doubled_gradient(backend):
    check_fails_with(lambda x: x * 2 - ag.Value(x.data), [0.7], DOUBLE)


def test_state_that_changes_between_runs_is_stale(backend):
    calls = itertools.count()

    def f(x):
        return x * float(next(calls) % 2 + 1)  # a different graph each call

    report = ag.gradcheck(f, [0.5])
    assert not report and STALE in report.causes


def test_bad_arguments(backend):
    with pytest.raises(TypeError, match="must return a Value"):
        ag.gradcheck(lambda x: 1.0, [0.5])
    with pytest.raises(TypeError, match="cannot take 2 inputs"):
        ag.gradcheck(lambda x: x, [0.5, 0.2])
    with pytest.raises(TypeError, match="real numbers"):
        ag.gradcheck(lambda x: x, ["a"])
    with pytest.raises(TypeError, match="callable"):
        ag.gradcheck(3, [0.5])


def test_check_command_passes():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "autograd", "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "default backend" in out.stdout and " 0 failed" in out.stdout

"""gradcheck passes right gradients and names the cause of wrong ones: the
pattern of the numbers (report.causes), the evidence from the graph
(report.findings), and the pattern's usual cause only where the graph shows none."""

from __future__ import annotations

import itertools

import pytest

import autograd as ag
from autograd.gradcheck import CAUSES, DOUBLE, HALF, HINTS, LEAK, SIGN, STALE, ZERO


def test_passes_and_reports(backend):
    report = ag.gradcheck(lambda x, y: x * y + x.sin(), [0.3, -0.8])
    assert report and report.passed
    assert len(report.rows) == 2
    row = report.rows[0]
    assert row.analytic == pytest.approx(-0.8 + 0.9553364891256060, rel=1e-12)
    assert row.abs_error <= 1e-8
    text = str(report)
    assert "analytic" in text and "numeric" in text and "passed" in text


def text(report) -> str:
    """The report with its wrapped lines joined."""
    return " ".join(str(report).split())


def check_fails_with(f, inputs, cause, found=LEAK):
    report = ag.gradcheck(f, inputs)
    assert not report
    assert report.causes == [cause], str(report)
    assert CAUSES[cause] in text(report)
    assert [finding.kind for finding in report.findings] == [found], str(report)
    assert HINTS[cause] not in text(report)    # evidence, not the pattern's usual cause
    assert report.rows[0].verdict == f"FAIL ({found})"
    with pytest.raises(ag.GradcheckError, match="FAILED"):
        ag.gradcheck(f, inputs, raise_exception=True)
    return report


# Each pattern, made here by the classic learner bug: an input's value enters
# the graph cut off from the input.  The graph says so, whatever the ratio.

def test_half_gradient_from_x_times_x_data(backend):
    # x * x.data: one of the two paths through x is cut (the pattern of `=` for `+=`)
    report = check_fails_with(lambda x: x * x.data, [1.3], HALF)
    assert "constant c of op mulc" in report.findings[0].text


def test_opposite_sign_from_a_value_computed_outside_the_graph(backend):
    # value of 2 - x, gradient of x - 2: the pattern of swapped operands
    report = check_fails_with(lambda x: (x - 2) + ag.Value(4 - 2 * x.data), [0.7], SIGN)
    assert "a value computed from input 0" in report.findings[0].text
    assert report.findings[0].op == "add"


def test_zero_from_an_output_made_outside_the_graph(backend):
    report = check_fails_with(lambda x: ag.Value(x.data * 3.0), [0.7], ZERO)
    assert "f's output" in report.findings[0].text


def test_doubled_gradient_from_a_leaf(backend):
    report = check_fails_with(lambda x: x * 2 - ag.Value(x.data), [0.7], DOUBLE)
    assert "input 0's value (0.7) entered the graph" in report.findings[0].text
    assert "a new leaf at op sub (a - b)" in report.findings[0].text


def test_state_that_changes_between_runs_is_stale(backend):
    calls = itertools.count()

    def f(x):
        return x * float(next(calls) % 2 + 1)  # a different graph each call

    report = ag.gradcheck(f, [0.5])
    assert not report and STALE in report.causes
    assert HINTS[STALE] in text(report)    # no evidence in the graph: the usual cause


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

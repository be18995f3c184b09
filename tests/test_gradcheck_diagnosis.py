"""gradcheck's diagnosis names the real cause: kinks are not failures, and a
failure is explained by evidence from the graph (a leaked input value, a
primitive's wrong derivative, the op whose local derivative is wrong), with
the line of code that built it, before any guess from the ratio."""

from __future__ import annotations

import doctest
import inspect
import io
import math
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import autograd as ag
from autograd.gradcheck import HALF, HINTS, KINK, LEAK, LOCAL, PRIMITIVE, SIGN, WRONG, ZERO


def text(report) -> str:  # type: ignore[no-untyped-def]
    """The report with its wrapped lines joined."""
    return " ".join(str(report).split())


def here(offset: int = 0) -> str:
    """'this file:line' of the caller's line (plus offset), as a creation site names it."""
    frame = inspect.stack()[1]
    return f"{frame.filename}:{frame.lineno + offset}"


# --- kinks ---------------------------------------------------------------------------------


def test_relu_at_zero_is_a_kink_not_a_failure(backend: str) -> None:
    report = ag.gradcheck(lambda x: x.relu(), [0.0]); line = here()  # noqa: E702
    assert report and report.passed                 # the engine is right: relu'(0) = 0 by convention
    (row,) = report.rows
    assert row.verdict == "KINK" and row.kink == (0.0, 1.0)
    assert report.kinks == [row] and report.causes == []
    assert report.max_error == 0.0                  # a kink's mismatch is not an error
    flat = text(report)
    assert "kink at input 0: f is not differentiable in it at x = 0" in flat
    assert "slope is 0 on the left and 1 on the right" in flat
    assert "FAIL" not in flat and HINTS[ZERO] not in flat and "broken gradient path" not in flat
    (finding,) = report.findings
    assert finding.kind == KINK and finding.op == "relu" and finding.site.startswith(line)
    ag.gradcheck(lambda x: x.relu(), [0.0], raise_exception=True)   # does not raise


def test_a_kink_inside_a_composite_is_named(backend: str) -> None:
    f = lambda x, y: (x - 1.0).abs() * y + y.exp()    # noqa: E731
    line = here(-1)
    report = ag.gradcheck(f, [1.0, 0.5])
    assert report and [row.verdict for row in report.rows] == ["KINK", "ok"]
    assert report.rows[0].kink == pytest.approx((-0.5, 0.5))
    (finding,) = report.findings
    assert finding.kind == KINK and finding.op == "abs" and finding.inputs == (0,)
    assert finding.site.startswith(line)


def test_a_gradient_outside_the_one_sided_slopes_fails_at_a_kink(backend: str) -> None:
    bad_abs = ag.primitive(abs, lambda x: 5.0)       # abs' is -1 or 1, never 5
    report = ag.gradcheck(bad_abs, [0.0])
    assert not report and report.rows[0].kink == (-1.0, 1.0)
    assert report.rows[0].verdict.startswith("FAIL")


def test_smooth_but_curved_is_not_a_kink(backend: str) -> None:
    # one-sided slopes differ by about h f'' = 1e-6 * 1e4 here, far above atol: still smooth
    x0 = math.pi / 200                                 # f' = 100 cos(100 x) = 0 here
    report = ag.gradcheck(lambda x: (x * 100.0).sin(), [x0])
    assert report and not report.kinks and report.rows[0].verdict == "ok"
    assert ag.gradcheck(lambda x: x.exp() ** 3, [3.0]).kinks == []


# --- .data inside the graph ----------------------------------------------------------------


def test_value_of_x_data_is_named_as_a_leaked_input(backend: str) -> None:
    report = ag.gradcheck(lambda x: ag.Value(x.data) * x, [1.5]); line = here()  # noqa: E702
    assert not report and report.causes == [HALF]
    assert report.rows[0].verdict == "FAIL (leak)"
    (finding,) = report.findings
    assert finding.kind == LEAK and finding.op == "mul" and finding.site.startswith(line)
    assert finding.text.startswith("input 0's value (1.5) entered the graph cut off from input 0")
    assert "a new leaf at op mul (a * b)" in finding.text
    assert "`.data`, `float(x)` or `Value(x.data)`" in finding.text
    flat = text(report)
    assert HINTS[HALF] not in flat and "+=" not in flat      # not "= where it must add +="


def test_float_of_x_as_a_constant_operand(backend: str) -> None:
    report = ag.gradcheck(lambda x, y: y * x + x * float(x), [0.8, 2.0])
    assert [row.passed for row in report.rows] == [False, True]
    (finding,) = report.findings
    assert finding.kind == LEAK and finding.inputs == (0,) and finding.op == "mulc"
    assert finding.text.startswith("input 0's value (0.8) entered the graph")
    assert "the constant c of op mulc (a * c)" in finding.text


def test_a_detached_intermediate_is_a_value_computed_from_the_input(backend: str) -> None:
    report = ag.gradcheck(lambda x: x.sin() * x.sin().detach(), [0.4])
    (finding,) = report.findings
    assert finding.kind == LEAK and "a value computed from input 0" in finding.text
    assert "`.detach()`" in finding.text


def test_a_literal_equal_to_the_input_is_not_a_leak(backend: str) -> None:
    # x * 2 at x = 2: the constant 2 carries the input's value but does not move with it
    report = ag.gradcheck(lambda x: x * 2.0 + ag.Value(x.data), [2.0])
    (finding,) = report.findings
    assert finding.op == "add"


# --- primitives ----------------------------------------------------------------------------


def test_a_wrong_primitive_derivative_speaks_of_the_primitive(backend: str) -> None:
    sin = ag.primitive(math.sin, lambda x: -math.cos(x))
    report = ag.gradcheck(lambda x: sin(x) * 2.0, [0.5]); line = here()  # noqa: E702
    assert not report and report.causes == [SIGN]
    assert report.rows[0].verdict == "FAIL (primitive)"
    (finding,) = report.findings
    assert finding.kind == PRIMITIVE and finding.site.startswith(line)
    assert "your derivative for input 0 of `sin` is about -1 × the numeric one" in finding.text
    flat = text(report)
    assert HINTS[SIGN] not in flat and "__rsub__" not in flat


def test_the_wrong_input_of_a_primitive_is_named(backend: str) -> None:
    hypot = ag.primitive(math.hypot, lambda x, y: x / math.hypot(x, y),
                         lambda x, y: 2 * y / math.hypot(x, y))          # dy doubled
    report = ag.gradcheck(lambda x, y: hypot(x, y) + x, [3.0, 4.0])
    assert [row.passed for row in report.rows] == [True, False]
    (finding,) = report.findings
    assert "your derivative for input 1 of `hypot` is about 2 × the numeric one" in finding.text
    assert finding.inputs == (1,)


# --- localising ----------------------------------------------------------------------------


def test_the_node_with_the_wrong_local_derivative_is_named_with_its_line(backend: str) -> None:
    cube = ag.primitive(lambda x: x**3, lambda x: 3 * x**3)           # should be 3 x**2

    def f(x, y):  # type: ignore[no-untyped-def]
        a = (x * y).sin() + y.exp()
        b = cube(a * 0.5)
        return b / y - x.tanh()

    line = f"{__file__}:{inspect.getsourcelines(f)[1] + 2}"
    report = ag.gradcheck(f, [0.3, 0.7])
    assert not report and report.causes == [WRONG]
    (finding,) = report.findings
    assert finding.kind == PRIMITIVE and finding.site.startswith(line)
    a = 0.5 * (math.sin(0.3 * 0.7) + math.exp(0.7))     # cube's input: 3 a**3 / 3 a**2 = a
    assert f"of `<lambda>` is about {a:.3g} × the numeric one" in finding.text
    # the engine's own ops (mul, sin, exp, add, mulc, div, tanh, sub) are proved right here
    assert report.checked == 8
    assert "checked: 8 other ops in the graph; each local derivative agrees" in text(report)


def test_a_wrong_engine_rule_is_localised(backend: str) -> None:
    if backend != "python":
        pytest.skip("the C engine's rules cannot be changed from Python")
    from autograd import ops
    from autograd.c99math import c_cos
    from autograd.engine.python import rules

    sin = ops.BY_NAME["sin"].code
    saved = rules.LOCAL_GRADS[sin]
    rules.LOCAL_GRADS[sin] = lambda x, y, c, out, g: (g * -c_cos(x), 0.0)   # sign slip
    try:
        report = ag.gradcheck(lambda x: (x * x).sin() + x.exp(), [0.6]); line = here()  # noqa: E702
    finally:
        rules.LOCAL_GRADS[sin] = saved
    assert not report
    (finding,) = report.findings
    assert finding.kind == LOCAL and finding.op == "sin" and finding.site.startswith(line)
    assert "the local derivative of sin (sin(a)) for its input a at a=0.36" in finding.text
    assert "(about -1 × that)" in finding.text
    assert report.checked == 3          # mul, exp, add agree


def test_a_primitive_at_its_own_kink_is_not_blamed(backend: str) -> None:
    sign_abs = ag.primitive(abs, lambda x: 1.0 if x > 0 else -1.0)   # -1 at 0: a one-sided slope
    # at x = 1 the primitive is at its kink (its -1 is a one-sided slope): only the leak is wrong
    report = ag.gradcheck(lambda x: sign_abs(x - 1.0) + ag.Value(x.data) * x, [1.0])
    assert not report and [f.kind for f in report.findings] == [LEAK]
    zero = ag.primitive(lambda x: x * x, lambda x: 1.0)                # f'(0) = 0, not 1
    (finding,) = ag.gradcheck(lambda x: zero(x) * 3.0, [0.0]).findings
    assert "is 1 where the numeric one is 0: it gives 1," in finding.text


def test_every_op_of_the_table_can_be_checked_locally() -> None:
    # an op missing from the rebuild map would silently escape the local check
    from autograd import ops
    from autograd.gradcheck import _REBUILD

    assert set(_REBUILD) == {op.name for op in ops.OPS} - {"leaf", "primitive"}


def test_a_passing_check_reads_no_graph(backend: str) -> None:
    report = ag.gradcheck(lambda x: x * x.sin(), [0.4])
    assert report and report.findings == [] and report.checked == 0


# --- gradgradcheck -------------------------------------------------------------------------


def test_gradgradcheck_names_a_leak_in_the_first_derivative(backend: str) -> None:
    report = ag.gradgradcheck(lambda x: x * x * x.data, [1.2])
    assert not report and report.causes == [HALF]
    assert report.findings and all(f.kind == LEAK for f in report.findings)
    assert "input 0's value (1.2) entered the graph" in text(report)
    assert "the constant c of op mulc (a * c)" in text(report)
    assert HINTS[HALF] not in text(report)


def test_gradgradcheck_names_a_backward_rule_that_detaches(backend: str) -> None:
    from autograd import ops

    # tanh's create_graph rule with its output detached (as in test_second_derivatives)
    saved, tanh = ops.OPS, ops.BY_NAME["tanh"].code
    broken = saved[tanh]._replace(
        vjp=lambda n, g: (g * (1.0 - n.out.detach() * n.out.detach()), 0.0)); line = here()  # noqa: E702
    ops.OPS = saved[:tanh] + (broken,) + saved[tanh + 1:]
    try:
        report = ag.gradgradcheck(lambda x: x.tanh(), [0.6])
    finally:
        ops.OPS = saved
    assert not report and report.causes == [ZERO]
    assert report.findings and report.findings[0].kind == LEAK
    assert "a value computed from input 0" in report.findings[0].text
    assert report.findings[0].site.startswith(line)


def test_gradgradcheck_kink(backend: str) -> None:
    report = ag.gradgradcheck(lambda x: x.relu() * x, [0.0])   # f'' jumps from 0 to 2 at 0
    assert report and [row.kink for row in report.kinks] == [(0.0, 2.0)]
    assert [f.op for f in report.findings] == ["relu"]


# --- the transcripts in the docs -----------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ("README.md", "## gradcheck\n", "## Neural networks"),
    ("docs/tutorial.md", "### Checking the gradient numerically", "## 2. One training run"),
]


@pytest.mark.parametrize(("path", "start", "end"), DOCS, ids=[d[0] for d in DOCS])
def test_the_docs_show_the_real_diagnosis_of_the_two_learner_bugs(backend: str, path: str, start: str,
                                                                  end: str) -> None:
    if not (ROOT / path).exists():
        pytest.skip(f"{path} is not part of this distribution")
    text = (ROOT / path).read_text()
    section = text[text.index(start):text.index(end)].replace("(c backend", f"({backend} backend")
    examples = [ex for ex in doctest.DocTestParser().get_examples(section) if "gradcheck(" in ex.source]
    sources = " ".join(ex.source for ex in examples)
    assert "ag.Value(x.data) * x" in sources and "x.relu(), [0.0]" in sources
    for ex in examples:
        out = io.StringIO()
        with redirect_stdout(out):
            exec(compile(ex.source, "<stdin>", "exec"), {"ag": ag})   # as typed at the prompt
        # '...' stands for the creation site alone
        want = ex.want.replace("created at ...", "created at <stdin>:1 in <lambda>.")
        got = out.getvalue()
        assert " ".join(got.split()) == " ".join(want.split()), f"{path} is stale; today it prints:\n{got}"
    # and the layout, line for line, as a doctest of the file sees it
    test = doctest.DocTestParser().get_doctest(section, {"ag": ag}, path, path, 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda report: None)
    assert runner.summarize(verbose=False).failed == 0, f"{path}: its gradcheck transcripts are stale"

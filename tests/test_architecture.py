"""The shape of the code: an op lives in the op table and one rule block per
engine (plus the README's conventions table), nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograd import ops

ROOT = Path(__file__).resolve().parent.parent
OWNERS = {"autograd/ops.py", "csrc/rules.h", "autograd/engine/python/rules.py"}
# users of some ops by name, not places an op must be added to: the network
# kit's activation choices (relu, tanh, sigmoid) and the demo's plot of them
USERS = ("autograd/nn/", "autograd/learn/plot.py", "autograd/cli/bench/")


def files_naming(name: str) -> set[str]:
    """The source files that name op `name` as the issue counted them: a quoted
    name, AG_OP_NAME, def name, or name = at the start of a line."""
    pattern = re.compile(rf"[\"']{name}[\"']|\b(AG_)?(OP_)?{name.upper()}\b|def {name}\b|^\s*{name}\s*=",
                         re.M)
    found = set()
    for path in [*ROOT.glob("autograd/**/*.py"), *ROOT.glob("csrc/*.[ch]")]:
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(USERS) and pattern.search(path.read_text()):
            found.add(rel)
    return found


@pytest.mark.parametrize("name", [op.name for op in ops.OPS if op.arity == 1 and op.method
                                  and not op.method.startswith("__") and op.name != "abs"])
def test_a_unary_op_lives_in_the_table_and_its_two_rule_blocks(name: str) -> None:
    assert files_naming(name) <= OWNERS


def test_every_op_has_a_row_in_the_readme_conventions_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Numerical conventions"):readme.index("## gradcheck")]
    for op in ops.OPS:
        if op.method and op.arity == 1 and not op.method.startswith("__"):
            assert f"`{op.name}(a)`" in table or f"`{op.name}(a)`," in table, op.name


def test_the_optional_extras_are_imported_only_where_needed() -> None:
    """``import autograd`` (the engine, replay, pickled tapes, nn, the
    functional API) imports none of the optional extras: dask only for
    autograd.dask, numpy, matplotlib and torch never unasked."""
    from child import assert_ok, run_child

    extras = ("dask", "distributed", "numpy", "matplotlib", "torch")
    out = assert_ok(run_child(
        "import sys, autograd, autograd.replay, autograd.tape_pickle, autograd.nn, autograd.functional\n"
        f"print(sorted(m for m in {extras!r} if m in sys.modules))"))
    assert out.strip() == "[]"

"""python -m autograd demo, end to end in a subprocess."""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import autograd as ag
from autograd.cli import demo

ROOT = Path(__file__).resolve().parent.parent


def run_demo(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "autograd", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def demo_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_demo_defaults_reach_100_percent():
    """The issue's demo: micrograd's setup, 100 steps, on the default backend."""
    proc = run_demo()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MLP(2, [16, 16, 1]" in out and "337 parameters" in out and "100 moons" in out
    progress = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(progress) == 11                      # steps 0, 10, ..., 90 and 99
    assert all("loss" in p and "accuracy" in p and "steps/s" in p for p in progress)
    assert progress[-1].startswith("step   99")
    assert "ms/step" in out
    assert "training accuracy after the last step: 100.0% (100/100)" in out
    # the tutorial shows this run: every line it shows is today's, up to the speeds
    tutorial = (ROOT / "docs" / "tutorial.md").read_text()
    shown = re.search(r"```\n(training MLP.*?)```", tutorial, re.S).group(1).splitlines()
    assert shown[-1] == "decision boundary and training curves written to docs/boundary.png"
    speed = re.compile(r" *[0-9.]+ steps/s|[0-9.]+ s, [0-9.]+ ms/step \(.*?\)")
    real = {speed.sub("SPEED", line) for line in out.splitlines()}
    for line in shown[:-1]:
        if line != "...":
            assert speed.sub("SPEED", line) in real, f"the tutorial's demo output is stale: {line!r}"


def test_demo_options_on_the_python_backend():
    if "python" not in ag.available_backends():  # always there; keeps the intent explicit
        pytest.skip("no python backend")
    proc = run_demo("--backend", "python", "--steps", "3", "--samples", "20", "--dataset", "circles",
                    "--seed", "7", "--log-every", "1")
    assert proc.returncode == 0, proc.stderr
    assert "20 circles" in proc.stdout and "seed 7" in proc.stdout
    assert "python backend" in proc.stdout
    assert sum(line.startswith("step ") for line in proc.stdout.splitlines()) == 3


@pytest.mark.skipif(
    bool(os.environ.get("AUTOGRAD_SANITIZER")),
    reason="matplotlib's C++ extension aborts with libasan preloaded (tests/sanitize.sh); "
    "the plot does not touch the C engine",
)
def test_demo_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "boundary.png"
    proc = run_demo("--steps", "2", "--samples", "20", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"decision boundary and training curves written to {png}" in proc.stdout


def test_demo_plot_without_matplotlib_fails_before_training(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    args = parser.parse_args(["--plot", str(tmp_path / "b.png")])
    assert demo.main(args) == 1
    captured = capsys.readouterr()
    assert 'pip install "scalar-autograd[plot]"' in captured.err
    assert 'pip install -e ".[plot]"' in captured.err       # the command from a clone, too
    assert "step" not in captured.out                       # no training was started


def test_demo_rejects_bad_options():
    proc = run_demo("--steps", "0")
    assert proc.returncode == 2 and "--steps" in proc.stderr
    proc = run_demo("--dataset", "spirals")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.parametrize("argv, option", [
    (["--noise", "-1"], "--noise"),
    (["--noise", "nan"], "--noise"),
    (["--lr", "0"], "--lr"),
    (["--lr", "-0.5"], "--lr"),
    (["--batch-size", "0"], "--batch-size"),
    (["--hidden", "16,0"], "--hidden"),
    (["--hidden", "16,,16"], "--hidden"),
    (["--log-every", "0"], "--log-every"),
    (["--samples", "1"], "--samples"),
    (["--plot", "/no/such/dir/x.png"], "/no/such/dir"),
])
def test_bad_values_fail_before_training_with_one_line(argv, option, capsys):
    assert demo.main(demo_args(*argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""                                   # nothing trained, nothing printed
    assert captured.err.count("\n") == 1 and option in captured.err
    assert "Traceback" not in captured.err


def test_plot_path_is_checked_up_front(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for bad in (str(tmp_path / "x.txt"), str(tmp_path)):      # no writer for .txt; a directory
        assert demo.main(demo_args("--plot", bad)) == 2
        assert capsys.readouterr().err.startswith("demo: --plot: cannot write")


def test_bad_values_exit_2_from_the_command_line():
    proc = run_demo("--noise", "-1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["demo: --noise must be a number >= 0, not -1.0"]
    proc = run_demo("--plot", "/no/such/dir/x.png")
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(bool(os.environ.get("AUTOGRAD_SANITIZER")), reason="matplotlib under libasan")
def test_plot_reports_the_file_it_really_wrote(tmp_path):
    pytest.importorskip("matplotlib")
    proc = run_demo("--steps", "1", "--samples", "10", "--plot", "boundary", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "boundary.png").exists() and not (tmp_path / "boundary").exists()
    assert proc.stdout.rstrip().endswith("written to boundary.png")


def test_an_unknown_option_prints_the_demo_usage(capsys):
    from autograd.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--no-such-option", "1"], prog="python -m autograd")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m autograd demo ")
    assert "unrecognized arguments: --no-such-option 1" in err


def test_learner_options_change_the_run(backend):
    out = io.StringIO()
    result = demo.run(steps=4, samples=12, hidden=(4, 3), optimizer="adam", loss="bce", lr=0.02,
                      batch_size=5, log_every=1, out=out)
    text = out.getvalue()
    assert "MLP(2, [4, 3, 1]" in text
    assert "loss = bce + 0.0001 * L2; Adam, lr 0.02 -> 0.002; batches of 5" in text
    assert [r.lr for r in result.history] == [0.02 - (0.02 - 0.02 / 10) * k / 4 for k in range(4)]
    # the history is there for a notebook to plot
    assert result.losses == [r.loss for r in result.history] and len(result.losses) == 4
    assert all(0.0 <= a <= 1.0 for a in result.accuracies) and len(result.accuracies) == 4
    # the same options train the same way twice (the batches come from the seed)
    again = demo.run(steps=4, samples=12, hidden=(4, 3), optimizer="adam", loss="bce", lr=0.02,
                     batch_size=5, log_every=1, out=io.StringIO())
    assert again.losses == result.losses and again.model.state_dict() == result.model.state_dict()


def test_learner_options_from_the_command_line():
    proc = run_demo("--steps", "2", "--samples", "10", "--hidden", "8", "--optimizer", "adam",
                    "--loss", "hinge", "--lr", "0.1", "--batch-size", "4", "--log-every", "1")
    assert proc.returncode == 0, proc.stderr
    assert "MLP(2, [8, 1]" in proc.stdout and "Adam, lr 0.1 -> 0.01; batches of 4" in proc.stdout


def test_default_schedule_is_micrographs(backend):
    result = demo.run(steps=3, samples=6, log_every=1, out=io.StringIO())
    assert [r.lr for r in result.history] == [1.0 - 0.9 * k / 3 for k in range(3)]


def test_counts_are_pluralised(backend):
    out = io.StringIO()
    demo.run(steps=1, samples=4, hidden=(2,), out=out)
    assert "done: 1 step in" in out.getvalue()
    assert "nodes per step" in out.getvalue() and "(9 parameters)" in out.getvalue()


@pytest.mark.skipif(bool(os.environ.get("AUTOGRAD_SANITIZER")), reason="matplotlib under libasan")
def test_plot_draws_the_curves_beside_the_boundary(tmp_path):
    pytest.importorskip("matplotlib")
    result = demo.run(steps=3, samples=10, hidden=(4,), out=io.StringIO())
    fig = result.plot(tmp_path / "run.svg")
    assert (tmp_path / "run.svg").read_text().count("<svg") == 1
    labels = sorted((ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes)
    assert labels == [("step", "loss"), ("step", "training accuracy (%)"), ("x1", "x2")]
    curves = {ax.get_ylabel(): list(ax.lines[0].get_ydata()) for ax in fig.axes if ax.lines}
    assert curves["loss"] == result.losses
    assert curves["training accuracy (%)"] == [100 * a for a in result.accuracies]


def test_help_is_plain_and_describes_every_option(capsys):
    from autograd.cli import build_parser

    parser, commands = build_parser("autograd")
    for name, sub in [("", parser), *((n, p) for n, p in commands.items() if n != "bench")]:
        text = sub.format_help()
        assert "``" not in text and ":func:" not in text, name    # no RST markup
        assert "issue" not in text.lower(), name                  # no internal references
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"


def test_version(capsys):
    from autograd.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"scalar-autograd {ag.__version__}"
    proc = subprocess.run([sys.executable, "-m", "autograd", "--version"], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0 and proc.stdout.strip() == f"scalar-autograd {ag.__version__}"


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    scripts = re.search(r"^\[project\.scripts\]\n(.*?)(?:^\[|\Z)", text, re.M | re.S)
    assert scripts and re.search(r'^autograd = "autograd\.cli:main"$', scripts.group(1), re.M)
    exe = shutil.which("autograd", path=os.path.dirname(sys.executable))
    if exe:   # installed from this tree: the script is the same command line
        proc = subprocess.run([exe, "demo", "--steps", "0"], capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.startswith("demo: --steps")

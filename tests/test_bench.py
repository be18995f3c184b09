"""The bench's own code: workloads run and agree, the report renders.
No timing is asserted: speed is reported by `python -m autograd bench`."""

from __future__ import annotations

import json

from autograd.cli import bench
from autograd.cli.bench import engines, models


def test_moons_and_weights_are_micrograd_shaped() -> None:
    xs, ys = models.moons()
    assert len(xs) == 100 and sorted(set(ys)) == [-1.0, 1.0]
    w = models.init_weights()
    assert [len(layer) for layer in w] == [16, 16, 1]
    assert sum(len(n) for layer in w for n in layer) == 337      # micrograd's parameter count


def test_w1_eager_replay_and_floats_agree(backend: str) -> None:
    eager = engines.w1_autograd(backend)
    replayed = engines.w1_replay(backend)
    losses = []
    for k in range(2):
        e, r = eager(k), replayed(k)
        assert e["loss"] == r["loss"]           # bit for bit
        losses.append(e["loss"])
    assert losses[1] != losses[0]               # the update moved the parameters
    assert abs(engines.w1_floats()(0)["loss"] - losses[0]) < 1e-12


def test_small_chain_and_dag_steps_run(backend: str) -> None:
    assert set(engines.w2_autograd(backend, 1000)(0)) == {"build", "backward", "free"}
    assert "backward" in engines.w3_autograd(backend, 1000)(0)


def test_report_renders_from_saved_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = bench.Config(quick=True, rounds=1)
    timed = {"W1": {"c": {"forward": [0.01], "backward": [0.001], "update": [0.001],
                          "free": [0.001], "total": [0.013], "loss": [1.0]},
                    "micrograd": {"forward": [1.0], "backward": [0.1], "update": [0.001],
                                  "free": [0.0], "total": [1.1], "loss": [1.0]}},
             "W2": {"c": {"build": [0.1], "backward": [0.001], "free": [0.001]}}}
    memory = {"W4": {"c": {"bytes_per_node": 42.0, "nodes": 10}}, "big": None}
    data = {"config": vars(cfg), "timed": timed, "skipped": {}, "memory": memory}
    data["summary"] = bench.summarize(cfg, timed, memory)
    text = bench.markdown(cfg, data)
    assert "| micrograd |" in text and "84.6 x" in text     # 1.1 / 0.013
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    assert bench.main(["--render", str(path)]) == 0
    assert "**Targets**" in capsys.readouterr().out

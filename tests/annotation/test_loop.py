"""`blazeforge annotate loop` end to end on real Blender face renders, with simulated annotators:
two rounds recorded, the report, and resuming after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blazeforge import cli
from blazeforge.datasets.schema import read_jsonl

FAST = [
    "experiment=smoke",
    "trainer.epochs=1",
    "trainer.steps_per_epoch=2",
    "export.latency_runs=1",
    "rounds=2",
    "per_round=3",
    "double=0.33",
]


@pytest.mark.slow
def test_two_rounds_are_recorded_reported_and_resumed(tmp_path, capfd):
    renders = tmp_path / "renders"
    render = ["render", "scene=faces", "n=12", "shards=1", "resolution=160", "samples=2", "seed=5"]
    assert cli.main([*render, f"run_dir={renders}"]) == 0
    run = tmp_path / "loop"
    args = ["annotate", "loop", f"renders={renders}", "topology=face_mesh", *FAST, f"run_dir={run}"]
    assert cli.main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    rounds = metrics["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2] and [r["labels"] for r in rounds] == [0, 3, 6]
    assert rounds[0]["model_version"] == "mediapipe:face_landmark" and rounds[2]["model_version"] == "round-01"
    assert all(0 < r["error"] < 50 for r in rounds) and all(r["minutes_per_image"] > 0 for r in rounds[1:])
    assert metrics["pool"] + metrics["reference"] == 12 and metrics["reference"] >= 1
    assert metrics["agreement"] > 0 and metrics["agreement_instances"] == 2  # one doubly labelled image a round
    # each round prelabels with the previous round's export and refines images no round refined before
    refined = [
        {(run / f"round-{r:02d}" / "refine" / s.image).resolve() for s in read_jsonl(p, 468)}
        for r, p in ((r, run / f"round-{r:02d}" / "refine" / "labels.jsonl") for r in (1, 2))
    ]
    assert all(len(s) == 3 for s in refined) and not (refined[0] & refined[1])
    prelabel = json.loads((run / "round-02" / "prelabel" / "metrics.json").read_text())
    assert prelabel["images"] == metrics["pool"] - 3 and "face_mesh" in prelabel["model_version"]
    report = (run / "report.html").read_text()
    assert "data:image/png;base64," in report and report.count("<tr>") == 4
    assert "round 2" in capfd.readouterr().err

    # killed during round 2's evaluation: the rerun keeps
    # every finished stage and gives the same figures
    (run / "round-02" / "evaluate" / "metrics.json").unlink()
    (run / "metrics.json").unlink()
    assert cli.main(args) == 0
    err = capfd.readouterr().err
    assert "2: train   kept" in err and "2: score   kept" not in err
    again = json.loads((run / "metrics.json").read_text())
    assert [r["labels"] for r in again["rounds"]] == [0, 3, 6]
    assert again["rounds"][2]["error"] == pytest.approx(rounds[2]["error"], abs=1e-3)


def test_other_topologies_and_a_missing_render_folder_are_one_line(tmp_path, capsys):
    assert cli.main(["annotate", "loop", f"renders={tmp_path}", "topology=pose", f"run_dir={tmp_path / 'a'}"]) == 2
    assert "annotate.topology: the loop runs for face_mesh, got 'pose'" in capsys.readouterr().err
    args = ["annotate", "loop", f"renders={Path(tmp_path) / 'none'}", "topology=face_mesh", f"run_dir={tmp_path / 'b'}"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "expected a render run directory" in err

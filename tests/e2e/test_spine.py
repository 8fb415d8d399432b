"""End to end on tiny real data: Blender renders -> TFDS -> training -> evaluation -> TFLite -> LiteRT."""

import json

import numpy as np
import pytest

from blazeforge.cli import main
from blazeforge.runtime import TfliteModel

pytestmark = pytest.mark.slow


def test_render_build_train_evaluate_export_and_run(tmp_path, capsys):
    smoke = ["experiment=smoke", "trainer.wandb=disabled"]
    d = {verb: tmp_path / verb for verb in ("render", "datasets", "train", "evaluate", "export")}
    assert main(["render", "n=6", "shards=2", "resolution=96", "samples=2", f"run_dir={d['render']}", *smoke]) == 0
    assert main(["datasets", "build", f"renders={d['render']}", f"run_dir={d['datasets']}", *smoke]) == 0
    assert main(["train", f"dataset={d['datasets']}", f"run_dir={d['train']}", *smoke]) == 0
    assert main(["evaluate", f"checkpoint={d['train']}", f"run_dir={d['evaluate']}", "split=val", *smoke]) == 0
    assert main(["export", f"checkpoint={d['train']}", f"run_dir={d['export']}", "quantize=[none,int8]", *smoke]) == 0

    for verb, folder in d.items():
        assert (folder / "config.yaml").is_file() and (folder / "metrics.json").is_file(), verb
    evaluation = json.loads((d["evaluate"] / "metrics.json").read_text())
    assert np.isfinite(evaluation["nme_2d"]) and np.isfinite(evaluation["baseline_nme_2d"])
    assert (d["evaluate"] / "report.html").is_file()
    exports = json.loads((d["export"] / "metrics.json").read_text())["exports"]
    assert set(exports) == {"fp32", "int8"}
    assert exports["fp32"]["parity"]["landmarks"]["max_abs_diff"] < 1e-2
    model = TfliteModel(d["export"] / "hand_landmarks_int8.tflite")
    out = model(np.zeros((1, 96, 96, 3), np.float32))
    assert out["landmarks"].shape == (1, 63)

    # The runtime runs our export in the hands pipeline (as the demo's last stage does).
    run = tmp_path / "run"
    assert (
        main(
            [
                "run",
                "pipeline=hands",
                f"source={d['render'] / 'shard-00000' / 'frames'}",
                f"models={d['export']}",
                "precision=int8",
                f"run_dir={run}",
            ]
        )
        == 0
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["models"]["hand_landmarks"] == str(d["export"] / "hand_landmarks_int8.tflite")
    assert metrics["frames"] == 3 and len((run / "frames.jsonl").read_text().splitlines()) == 3


def test_a_later_verb_rejects_a_folder_that_is_not_a_run_directory(tmp_path, capsys):
    assert main(["train", f"dataset={tmp_path}", f"run_dir={tmp_path / 'run'}", "experiment=smoke"]) == 2
    assert "expected a datasets run directory" in capsys.readouterr().err

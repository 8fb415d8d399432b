"""A task defined in tests/toy (model, data, evaluation, export, runtime binding and configs) and
registered with one line runs through every engine as the built-in ones do, with no change under
blazeforge/: train, evaluate, export, and run in a pipeline graph."""

import json

import numpy as np
import pytest

from blazeforge import recipes
from blazeforge.cli import main
from tests import toy
from tests.fixtures import fake_renders

pytestmark = pytest.mark.slow


@pytest.fixture
def registered():
    recipes.register(toy.TOY)  # the one line a new family needs (here from outside blazeforge)
    yield toy.TOY
    recipes.TASKS.pop(toy.TOY.name)


def test_a_task_registered_from_outside_trains_evaluates_exports_and_runs(registered, tmp_path, capsys):
    renders = fake_renders(tmp_path / "renders", shards=2, per_shard=12, size=128)
    d = {verb: tmp_path / verb for verb in ("datasets", "train", "evaluate", "export", "run", "again")}
    quick = ["trainer.wandb=disabled", "export.threads=[1]", "export.latency_runs=3", "export.calibration=8"]
    assert main(["datasets", "build", f"renders={renders}", f"run_dir={d['datasets']}"]) == 0
    train = ["recipe=toy_wrist", f"dataset={d['datasets']}", "trainer.epochs=3", "trainer.steps_per_epoch=6"]
    assert (
        main(["train", *train, "trainer.batch_size=4", "trainer.learning_rate=3e-3", f"run_dir={d['train']}", *quick])
        == 0
    )
    assert "task: toy_wrist" in (d["train"] / "config.yaml").read_text()

    assert main(["evaluate", f"checkpoint={d['train']}", "split=train", f"run_dir={d['evaluate']}", *quick]) == 0
    scored = json.loads((d["evaluate"] / "metrics.json").read_text())
    assert scored["task"] == "toy_wrist" and 0 < scored["wrist_error"] < 0.5 and scored["count"] > 0
    assert "wrist error" in capsys.readouterr().err  # the task's own summary line

    assert main(["export", f"checkpoint={d['train']}", "quantize=[none,int8]", f"run_dir={d['export']}", *quick]) == 0
    exports = json.loads((d["export"] / "metrics.json").read_text())["exports"]
    assert set(exports) == {"fp32", "int8"} and exports["fp32"]["parity"]["wrist"]["max_abs_diff"] < 1e-3
    sidecar = json.loads((d["export"] / "toy_wrist.json").read_text())
    assert sidecar["task"] == "toy_wrist" and sidecar["roles"] == {"toy_wrist": {"landmarks": "wrist", "values": 3}}

    # The export's own sidecar names its task: evaluate takes the .tflite as it took the run.
    fp32 = d["export"] / "toy_wrist_fp32.tflite"
    assert (
        main(["evaluate", f"checkpoint={fp32}", f"dataset={d['datasets']}", "split=train", f"run_dir={d['again']}"])
        == 0
    )
    again = json.loads((d["again"] / "metrics.json").read_text())
    assert again["wrist_error"] == pytest.approx(scored["wrist_error"], abs=1e-3)

    frames = renders / "shard-00000" / "frames"
    assert (
        main(["run", f"pipeline={toy.GRAPH}", f"source={frames}", f"models={d['export']}", f"run_dir={d['run']}"]) == 0
    )
    ran = json.loads((d["run"] / "metrics.json").read_text())
    assert ran["models"] == {"toy_wrist": str(fp32)} and ran["frames"] == 12
    lines = [json.loads(line) for line in (d["run"] / "frames.jsonl").read_text().splitlines()]
    wrists = np.array([f["instances"][0]["landmarks"][0][:2] for f in lines])
    assert wrists.shape == (12, 2) and ((0 <= wrists) & (wrists <= 128)).all()  # frame pixels, not crop units


def test_a_hand_pipeline_refuses_the_toy_export(registered, tmp_path, capsys):
    """models= an export that no stage takes is one clear line, never silently replaced."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "toy_wrist_fp32.tflite").write_bytes(b"TFL3")
    (folder / "toy_wrist.json").write_text(json.dumps({"task": "toy_wrist", "roles": toy.TOY.roles}))
    clip = tmp_path / "clip"
    fake_renders(clip, shards=1, per_shard=2)
    source = clip / "shard-00000" / "frames"
    assert main(["run", "pipeline=hands", f"source={source}", f"models={folder}", f"run_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no stage of pipeline hands takes it: it fills toy_wrist" in err and len(err.splitlines()) == 1

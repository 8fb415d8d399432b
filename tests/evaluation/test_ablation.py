"""`blazeforge bench ablation=blazepalm` at smoke scale: three variants, one table, resumable."""

import json

from blazeforge.cli import main
from blazeforge.config import compose
from blazeforge.datasets import build
from tests.fixtures import fake_renders


def test_palm_ablation_trains_three_variants_and_writes_the_table(tmp_path):
    build(compose("datasets", [f"renders={fake_renders(tmp_path / 'r', shards=2, per_shard=6)}"]), tmp_path / "d")
    args = [
        "bench",
        "ablation=blazepalm",
        f"dataset={tmp_path / 'd'}",
        "experiment=smoke",
        "trainer.epochs=1",
        "trainer.steps_per_epoch=2",
        "trainer.batch_size=4",
        "evaluate.split=train",
        "export.latency_runs=3",
        f"run_dir={tmp_path / 'bench'}",
    ]
    assert main(args) == 0
    metrics = json.loads((tmp_path / "bench" / "metrics.json").read_text())
    table = metrics["ablation"]
    assert set(table) == {"fpn+focal", "fpn+ce", "none+ce"}
    assert table["none+ce"]["params"] < table["fpn+ce"]["params"] == table["fpn+focal"]["params"]
    for name, row in table.items():
        assert 0 <= row["AP50"] <= 1 and row["latency_ms"] > 0
        evaluated = json.loads((tmp_path / "bench" / name / "evaluate" / "metrics.json").read_text())
        assert evaluated["AP50"] == row["AP50"] and evaluated["detector"] == "PALM_DETECTION"
    assert metrics["published"]["AP"]["fpn+focal"] == 0.957
    trained = (tmp_path / "bench" / "fpn+ce" / "train" / "metrics.json").stat().st_mtime
    assert main(args) == 0  # resumes: every finished stage is kept
    assert (tmp_path / "bench" / "fpn+ce" / "train" / "metrics.json").stat().st_mtime == trained

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from blazeforge.config import compose
from blazeforge.datasets import build, load
from blazeforge.datasets.sources import read_coco
from blazeforge.datasets.splits import assign_splits
from blazeforge.errors import BlazeforgeError
from tests.fixtures import fake_coco, fake_renders


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    renders = fake_renders(root / "renders")
    coco = fake_coco(root / "coco")
    cfg = compose("datasets", [f"renders={renders}", f"coco={coco}", "data.split.val=0.2", "data.split.test=0.2"])
    return build(cfg, root / "built"), root / "built"


def test_split_assignment_keeps_groups_together_and_fills_every_split():
    keys = [f"subject-{i // 3}" for i in range(30)]
    splits = assign_splits(keys, 0.1, 0.1)
    by_key = {}
    for key, split in zip(keys, splits):
        by_key.setdefault(key, set()).add(split)
    assert all(len(s) == 1 for s in by_key.values())
    assert {"train", "val", "test"} <= set(splits)
    assert assign_splits(keys, 0.1, 0.1, seed=0) == splits
    with pytest.raises(ValueError):
        assign_splits(["a", "b"], 0.5, 0.5)


def test_build_counts_both_sources_and_no_subject_leaks(dataset):
    summary, path = dataset
    assert sum(summary["splits"].values()) == 12 + 6
    assert sum(c.get("real", 0) for c in summary["by_source"].values()) == 6
    seen = {}
    for split in ("train", "val", "test"):
        for ex in tfds.as_numpy(load(path, split)):
            seen.setdefault(ex["subject_id"].decode(), set()).add(split)
    assert all(len(s) == 1 for s in seen.values())


def test_loaded_records_follow_the_schema_and_real_data_masks_z(dataset):
    _, path = dataset
    for ex in tfds.as_numpy(load(path, "train")):
        assert ex["image"].dtype == np.uint8 and ex["image"].shape[-1] == 3
        assert ex["keypoints"].shape[1:] == (21, 3)
        if ex["source"] == b"real":
            assert not ex["keypoint_mask"][..., 2].any() and ex["keypoint_mask"][..., :2].all()
        else:
            assert ex["keypoint_mask"].all()


def test_rebuilding_a_finished_dataset_is_a_no_op(dataset):
    summary, path = dataset
    before = (path / "dataset.json").stat().st_mtime
    assert build(compose("datasets", ["renders=/nonexistent"]), path) == summary
    assert (path / "dataset.json").stat().st_mtime == before


def test_coco_import_reads_visibility_and_handedness(tmp_path):
    samples = [s for _, s in read_coco(fake_coco(tmp_path / "c", count=2))]
    assert samples[0].handedness[0] == 0.0 and samples[1].handedness[0] == 1.0
    assert samples[0].visibility[0, 3] == 0 and samples[0].visibility[0, 4] == 1
    assert samples[0].meta["source"] == "real"


def test_bad_sources_are_one_line_errors(tmp_path):
    renders = fake_renders(tmp_path / "r", shards=1, per_shard=2)
    (renders / "shard-00000" / "frames" / "000001.png").write_bytes(b"not a png")
    with pytest.raises(BlazeforgeError, match="000001.png: not a readable image"):
        build(compose("datasets", [f"renders={renders}"]), tmp_path / "out")
    coco = fake_coco(tmp_path / "c", count=1)
    data = json.loads(coco.read_text())
    data["annotations"][0]["keypoints"] = data["annotations"][0]["keypoints"][:60]
    coco.write_text(json.dumps(data))
    with pytest.raises(BlazeforgeError, match=r"annotations\[0\].keypoints: has 60 values"):
        list(read_coco(coco))
    with pytest.raises(BlazeforgeError, match="no source given"):
        build(compose("datasets", []), tmp_path / "none")

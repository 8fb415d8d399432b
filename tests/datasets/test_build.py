import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from blazeforge.config import compose
from blazeforge.datasets import build, load
from blazeforge.datasets.sources import read_coco, read_wider
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
    samples = [s for _, s in read_coco(fake_coco(tmp_path / "c", count=2), None, 21)]
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
        list(read_coco(coco, None, 21))
    with pytest.raises(BlazeforgeError, match="no source given"):
        build(compose("datasets", []), tmp_path / "none")


WIDER = """a.jpg
3
10 10 30 40 0 0 0 0 0 0
50 5 20 20 0 0 0 1 0 0
90 90 0 25 0 0 0 0 0 0
b.jpg
0
0 0 0 0 0 0 0 0 0 0
c.jpg
1
300 300 20 20 0 0 0 0 0 0
"""


def _wider(root):
    import cv2

    root.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        cv2.imwrite(str(root / name), np.full((100, 120, 3), 90, np.uint8))
    (root / "gt.txt").write_text(WIDER)
    return root / "gt.txt"


def test_wider_face_import_counts_and_skips_what_no_detector_can_use(tmp_path):
    path = _wider(tmp_path / "w")
    samples = [s for _, s in read_wider(path, None, 6)]
    assert [s.num_instances for s in samples] == [2, 0, 1]  # the invalid face (flag 1) left out
    assert (samples[0].width, samples[0].height) == (120, 100) and not samples[0].keypoint_mask.any()
    cfg = compose("datasets", ["data=faces", f"wider={path}", "data.split.val=0", "data.split.test=0"])
    info = build(cfg, tmp_path / "d")
    assert info["skipped"] == {"degenerate box": 1, "box outside the image": 1}
    assert info["images_without_instances"] == 2 and sum(info["splits"].values()) == 3
    boxes = [ex["boxes"] for ex in tfds.as_numpy(load(tmp_path / "d", "train", decode_images=False))]
    assert sorted(len(b) for b in boxes) == [0, 0, 1] and np.allclose(max(boxes, key=len), [[10, 10, 40, 50]])
    with pytest.raises(BlazeforgeError, match=r"a.jpg: instance 1: degenerate box \[90.0, 90.0, 90.0, 115.0\]"):
        build(compose("datasets", ["data=faces", f"wider={path}", "invalid=error"]), tmp_path / "e")


def test_boxes_partly_outside_the_image_are_clipped(tmp_path):
    root = tmp_path / "w"
    path = _wider(root)
    path.write_text("a.jpg\n1\n-10 90 30 40 0 0 0 0 0 0\n")
    info = build(
        compose("datasets", ["data=faces", f"wider={path}", "data.split.val=0", "data.split.test=0"]), tmp_path / "d"
    )
    assert info["boxes_clipped"] == 1
    ex = next(iter(tfds.as_numpy(load(tmp_path / "d", "train", decode_images=False))))
    np.testing.assert_allclose(ex["boxes"], [[0, 90, 20, 100]])


def test_malformed_wider_files_name_the_line(tmp_path):
    path = _wider(tmp_path / "w")
    path.write_text("a.jpg\nthree\n")
    with pytest.raises(BlazeforgeError, match=r"gt.txt:2: expected the face count of a.jpg, got 'three'"):
        list(read_wider(path, None, 6))
    path.write_text("a.jpg\n1\n10 10\n")
    with pytest.raises(BlazeforgeError, match=r"gt.txt:3: expected 'x y w h"):
        list(read_wider(path, None, 6))
    path.write_text("a.jpg\n2\n10 10 5 5 0 0 0 0 0 0\n")
    with pytest.raises(BlazeforgeError, match="ends in the middle"):
        list(read_wider(path, None, 6))


def test_our_labels_files_are_a_source_split_as_build_splits_them(tmp_path):
    from blazeforge.datasets.builder import split_items
    from blazeforge.datasets.sources import read_labels, read_renders

    renders = fake_renders(tmp_path / "renders")
    shards = sorted(renders.glob("shard-*/labels.jsonl"))
    cfg = compose("datasets", [f"labels=[{shards[0]},{shards[1]}]", "data.split.val=0.2", "data.split.test=0.2"])
    summary = build(cfg, tmp_path / "built")
    assert sum(summary["splits"].values()) == 12 and summary["sources"]["labels"] == [str(p) for p in shards]
    items = list(read_labels([str(p) for p in shards], 21))
    assert [p.resolve() for p, _ in items] == [p.resolve() for p, _ in read_renders(renders, 21)]
    splits = split_items(items, cfg)
    assert {s: splits.count(s) for s in set(splits)} == {s: n for s, n in summary["splits"].items() if n}
    (tmp_path / "bad.jsonl").write_text('{"image": "missing.png", "width": 8, "height": 8, "keypoints": []}\n')
    with pytest.raises(BlazeforgeError, match="missing.png: image file not found"):
        build(compose("datasets", [f"labels={tmp_path / 'bad.jsonl'}"]), tmp_path / "bad")

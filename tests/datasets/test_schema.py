import json

import numpy as np
import pytest

from blazeforge.datasets.schema import Sample, append_jsonl, read_jsonl
from blazeforge.errors import BlazeforgeError


def sample(n=1, k=21):
    kp = np.random.default_rng(0).uniform(0, 100, (n, k, 3)).astype(np.float32)
    return Sample(
        image="frames/000000.png",
        width=128,
        height=128,
        keypoints=kp,
        keypoint_mask=np.ones((n, k, 3), bool),
        visibility=np.ones((n, k), np.float32),
        boxes=np.array([[1, 2, 50, 60]] * n, np.float32),
        presence=np.ones(n, np.float32),
        handedness=np.zeros(n, np.float32),
        camera={"fx": 100, "fy": 100, "cx": 64, "cy": 64},
        meta={"source": "synthetic", "skin_tone": 3},
    )


def test_jsonl_round_trip(tmp_path):
    path = tmp_path / "labels.jsonl"
    append_jsonl(path, sample())
    append_jsonl(path, sample(n=2))
    got = list(read_jsonl(path, num_keypoints=21))
    assert [s.num_instances for s in got] == [1, 2]
    np.testing.assert_allclose(got[0].keypoints, sample().keypoints, atol=1e-3)
    assert got[0].meta == {"source": "synthetic", "skin_tone": "3"}
    assert got[0].camera["fx"] == 100.0


def test_wrong_keypoint_shape_names_the_file_line_and_field(tmp_path):
    path = tmp_path / "labels.jsonl"
    append_jsonl(path, sample())
    record = sample().to_json()
    record["keypoints"] = [[[1.0, 2.0]] * 21]
    path.open("a").write(json.dumps(record) + "\n")
    with pytest.raises(BlazeforgeError, match=r"labels.jsonl:2: field 'keypoints' has shape \[1, 21, 2\]"):
        list(read_jsonl(path, num_keypoints=21))


def test_mask_of_wrong_shape_and_nan_are_rejected():
    record = sample().to_json()
    record["keypoint_mask"] = [[[True, True]] * 21]
    with pytest.raises(BlazeforgeError, match="keypoint_mask"):
        Sample.from_json(record, "x")
    record = sample().to_json()
    record["keypoints"][0][3][0] = float("nan")
    with pytest.raises(BlazeforgeError, match="NaN"):
        Sample.from_json(record, "x")


def test_broken_json_line_is_one_clear_error(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"image": "a.png",\n')
    with pytest.raises(BlazeforgeError, match=r"labels.jsonl:1: not valid JSON"):
        list(read_jsonl(path))

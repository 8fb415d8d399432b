"""`blazeforge annotate agree` and the simulated annotator: disagreement as the noise model says,
less time where prelabels are good, and the figure `evaluate fairness` reads."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from blazeforge import cli, topology
from blazeforge.annotation import agreement
from blazeforge.annotation.ml_backend import Prelabeler
from blazeforge.annotation.simulated import SimulatedAnnotator
from blazeforge.datasets.schema import Sample, append_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.zoo.parity import photos

MESH = topology.get("face_mesh")


@pytest.fixture(scope="module")
def truths() -> list[Sample]:
    """Ten 'images' whose true face is MediaPipe's mesh of the astronaut, shifted a little each."""
    face, _ = Prelabeler("face_mesh").label(photos()["skimage.astronaut"], "a.png", 468)
    out = []
    for i in range(10):
        keypoints = face.keypoints + np.float32([3 * i, 2 * i, 0])
        mask = np.ones_like(face.keypoint_mask)
        out.append(
            replace(face, image=f"face_{i}.png", keypoints=keypoints, keypoint_mask=mask, boxes=face.boxes + 3 * i)
        )
    return out


def _empty(truth: Sample) -> Sample:
    return replace(truth, keypoints=np.zeros((0, 468, 3), np.float32), boxes=np.zeros((0, 4), np.float32))


def test_two_annotators_disagree_as_their_noise_model_says(truths, tmp_path, capsys):
    alice, bob = SimulatedAnnotator("alice", bias=1.0, noise=1.5), SimulatedAnnotator("bob", bias=1.0, noise=1.5)
    for who in (alice, bob):
        for truth in truths:
            refined, seconds = who.refine(_empty(truth), truth, MESH)
            assert seconds == who.seconds_per_image + 468 * who.seconds_per_point  # every point placed
            append_jsonl(tmp_path / f"{who.name}.jsonl", refined)
    run = tmp_path / "agree"
    labels = f"labels=[{tmp_path / 'alice.jsonl'},{tmp_path / 'bob.jsonl'}]"
    assert cli.main(["annotate", "agree", labels, "topology=face_mesh", f"run_dir={run}"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    expected = np.sqrt(np.pi / 2) * np.sqrt(2 * (1.0**2 + 1.5**2))  # mean length of the 2D difference
    assert metrics["agreement"] == pytest.approx(expected, rel=0.1)
    assert metrics["doubly_labelled"] == 10 and metrics["instances"] == 10 and list(metrics["pairs"]) == ["alice / bob"]
    assert len(metrics["per_point"]) == 468
    assert "% of IOD between annotators" in capsys.readouterr().err
    value, source = agreement.human_variance(str(run), "face_mesh")
    assert value == metrics["agreement"] and "10 doubly labelled instances" in source
    with pytest.raises(BlazeforgeError, match="agreement on face_mesh labels; expected hand"):
        agreement.human_variance(str(run), "hand")
    assert agreement.human_variance(2.56, "face_mesh") == (2.56, "evaluate.human_variance")


def test_good_prelabels_cost_less_time_and_stay_where_they_are(truths):
    alice = SimulatedAnnotator("alice", bias=0.5, noise=0.5, tolerance=3.0)
    truth = truths[0]
    _, scratch = alice.refine(_empty(truth), truth, MESH)
    refined, seconds = alice.refine(truth, truth, MESH)  # the prelabel is the truth itself
    assert seconds < 0.2 * scratch
    np.testing.assert_array_equal(refined.keypoints[..., :2], truth.keypoints[..., :2])
    assert not refined.keypoint_mask[..., 2].any() and refined.meta["annotator"] == "alice"


def test_one_annotator_alone_is_one_line(truths, tmp_path, capsys):
    append_jsonl(tmp_path / "alice.jsonl", truths[0])
    args = [
        "annotate",
        "agree",
        f"labels={tmp_path / 'alice.jsonl'}",
        "topology=face_mesh",
        f"run_dir={tmp_path / 'r'}",
    ]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no instance labelled by two annotators (0 images have two or more)" in err

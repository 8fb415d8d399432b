"""Fairness of a face-landmark model by group: statistics, the report, MediaPipe's published model."""

import json
import re

import numpy as np
import pytest

from blazeforge.cli import main
from blazeforge.evaluation.fairness import group_report, nme_iod
from tests.fixtures import face_mesh_coco


def test_group_statistics_and_the_verdict_against_human_variance():
    rng = np.random.default_rng(0)
    errors = np.r_[rng.normal(2.5, 0.3, 200), rng.normal(3.0, 0.3, 200), rng.normal(6.0, 0.3, 50)]
    groups = ["a"] * 200 + ["b"] * 200 + ["c"] * 50
    report = group_report(errors, groups, human_variance=2.56, rounds=500)
    a, c = report["groups"]["a"], report["groups"]["c"]
    assert a["interval"][0] < a["nme"] < a["interval"][1] and a["interval"][1] - a["interval"][0] < 0.2
    assert c["count"] == 50 and report["spread"] == pytest.approx(c["nme"] - a["nme"], abs=1e-3)
    assert report["verdict"] == "unfair" and "more than human variance" in c["verdict"]
    assert "within" in report["groups"]["b"]["verdict"]
    assert group_report(errors[:400], groups[:400], 2.56, rounds=100)["verdict"] == "fair"


def test_nme_is_in_percent_of_the_labelled_interocular_distance():
    gt = np.zeros((468, 2))
    gt[33], gt[263] = (0, 0), (100, 0)
    pred = gt + (3, 4)  # 5 px off everywhere
    assert nme_iod(pred, gt, np.ones(468, bool), (33, 263)) == pytest.approx(5.0)


@pytest.mark.slow
def test_fairness_report_for_mediapipes_face_landmark_model(tmp_path, capsys):
    coco = face_mesh_coco(tmp_path / "faces")
    assert main(["datasets", "build", "data=face_mesh", f"coco={coco}", f"run_dir={tmp_path / 'data'}"]) == 0
    assert main(["evaluate", "fairness", f"dataset={tmp_path / 'data'}", "checkpoint=mediapipe:face_landmark",
                 "group_by=region", "split=train", "bootstrap=200", f"run_dir={tmp_path / 'fair'}"]) == 0
    metrics = json.loads((tmp_path / "fair" / "metrics.json").read_text())
    assert set(metrics["groups"]) <= {"Northern Europe", "Eastern Asia", "Western Africa"} and len(metrics["groups"]) >= 2
    # The labels are the published model's own meshes, warped: it finds them again within a few % IOD.
    assert metrics["nme"] < 5 and metrics["verdict"] in ("fair", "unfair") and metrics["human_variance"] == 2.56
    page = (tmp_path / "fair" / "report.html").read_text()
    assert f"{metrics['spread']:.3f}" in re.search(r"id=spread>([0-9.]+)<", page).group(0)
    assert all(f"{g['nme']:.3f}" in page for g in metrics["groups"].values())
    assert "**" + metrics["verdict"] + "**" in (tmp_path / "fair" / "model_card.md").read_text()

    assert main(["evaluate", "fairness", f"dataset={tmp_path / 'data'}", "group_by=shoe_size",
                 f"run_dir={tmp_path / 'bad'}"]) == 2
    assert "evaluate.group_by: expected one of region, skin_tone" in capsys.readouterr().err

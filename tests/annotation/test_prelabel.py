"""`blazeforge annotate prelabel`: MediaPipe's published models label package photos, most uncertain
first, resumable after a kill."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from blazeforge import cli, topology
from blazeforge.annotation.ml_backend import Prelabeler
from blazeforge.annotation.prelabel import mirrored_back, uncertainty
from blazeforge.datasets.schema import read_jsonl
from blazeforge.zoo.parity import photos

RENDERS = Path(__file__).parents[1] / "zoo" / "renders"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Four package photos: two faces (astronaut, Grace Hopper), a cat and a cup of coffee."""
    root = tmp_path_factory.mktemp("photos")
    for name, rgb in photos().items():
        cv2.imwrite(str(root / f"{name}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root


def _records(run_dir: Path):
    return list(read_jsonl(run_dir / "prelabels.jsonl", 468))


def test_faces_first_by_uncertainty_nothing_found_last_and_a_rerun_labels_only_what_is_missing(folder, tmp_path):
    run = tmp_path / "run"
    assert cli.main(["annotate", "prelabel", f"images={folder}", "topology=face_mesh", f"run_dir={run}"]) == 0
    records = _records(run)
    assert [r.meta["priority"] for r in records] == ["1", "2", "3", "4"]
    found = [r for r in records if r.num_instances]
    assert sorted(Path(r.image).stem for r in found) == ["matplotlib.grace_hopper", "skimage.astronaut"]
    assert records[:2] == found and [r.meta["uncertainty"] for r in records[2:]] == ["none", "none"]
    values = [float(r.meta["uncertainty"]) for r in found]
    assert values[0] >= values[1] and 0 < values[1] and values[0] < 3.0  # % IOD: the two views agree
    assert all(r.meta["source"] == "prelabel" and "face_landmark" in r.meta["model_version"] for r in records)
    assert not records[0].keypoint_mask[..., 2].any() and records[0].keypoint_mask[..., :2].all()
    assert (run / records[0].image).resolve() == (folder / f"{Path(records[0].image).stem}.png").resolve()

    # killed mid-write: a torn last line is cut off and only that image is labelled again
    text = (run / "prelabels.jsonl").read_text().splitlines(keepends=True)
    (run / "prelabels.jsonl").write_text("".join(text[:2]) + text[2][:40])
    assert cli.main(["annotate", "prelabel", f"images={folder}", "topology=face_mesh", f"run_dir={run}"]) == 0
    again = _records(run)
    assert [(r.image, r.meta["uncertainty"]) for r in again] == [(r.image, r.meta["uncertainty"]) for r in records]
    np.testing.assert_array_equal(again[0].keypoints, records[0].keypoints)


def test_the_flip_pairs_are_what_makes_the_two_views_agree(folder):
    mesh = topology.get("face_mesh")
    prelabeler = Prelabeler("face_mesh")
    rgb = photos()["skimage.astronaut"]
    _, right = uncertainty(prelabeler, rgb, "a.png", mesh)
    _, unswapped = uncertainty(prelabeler, rgb, "a.png", replace(mesh, flip_pairs=()))
    assert right < 3.0 and unswapped > 5 * right


def test_mirrored_back_twice_is_the_identity():
    pose = topology.get("pose")
    prelabeler = Prelabeler("pose")
    sample, _ = prelabeler.label(photos()["skimage.astronaut"], "a.png", 33)
    twice = mirrored_back(mirrored_back(sample, pose), pose)
    np.testing.assert_allclose(twice.keypoints, sample.keypoints, atol=1e-4)
    np.testing.assert_allclose(twice.boxes, sample.boxes, atol=1e-4)


def test_hands_are_scored_in_palm_size_and_an_empty_folder_is_one_line(tmp_path, capsys):
    images = tmp_path / "hands"
    images.mkdir()
    for path in RENDERS.glob("hand_*.png"):
        shutil.copy(path, images)
    run = tmp_path / "run"
    assert cli.main(["annotate", "prelabel", f"images={images}", "topology=hand", f"run_dir={run}"]) == 0
    records = list(read_jsonl(run / "prelabels.jsonl", 21))
    assert len(records) == 2 and any(r.num_instances for r in records)
    assert "% of palm size" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["annotate", "prelabel", f"images={tmp_path / 'empty'}", f"run_dir={tmp_path / 'e'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no .png / .jpg / .jpeg images in it" in err

"""Synthetic faces (MakeHuman's heads by default, MediaPipe's mesh alone as face_model=mediapipe_mesh):
the mesh's geometry, and renders the published models read."""

import json

import numpy as np
import pytest

from blazeforge.cli import main
from blazeforge.synthetic.assets import package_photos
from blazeforge.synthetic.face_geometry import OUTER_EYE_CORNER_MM, canonical_mesh, region, triangles


def test_the_canonical_face_faces_the_camera_at_human_scale():
    mesh = canonical_mesh()
    assert mesh.shape == (468, 3)
    assert np.linalg.norm(mesh[33] - mesh[263]) * 1000 == pytest.approx(OUTER_EYE_CORNER_MM, rel=0.02)
    assert abs(mesh[33, 1] - mesh[263, 1]) < 1e-6 and np.allclose(mesh[1], 0)  # eyes level, nose tip at 0
    assert mesh[1, 2] >= mesh[:, 2].max() - 0.005  # the nose tip is (nearly) the nearest point
    assert 0.11 < np.ptp(mesh[:, 0]) < 0.16 and 0.12 < np.ptp(mesh[:, 1]) < 0.18  # metres
    assert mesh[33, 0] < 0 < mesh[263, 0]  # the subject's right eye on the image's left


def test_triangles_cover_the_mesh_and_face_outwards():
    tri = triangles()
    mesh = canonical_mesh()
    assert 800 < len(tri) < 900 and len(np.unique(tri)) == 468
    normals = np.cross(mesh[tri[:, 1]] - mesh[tri[:, 0]], mesh[tri[:, 2]] - mesh[tri[:, 0]])
    front = np.abs(mesh[tri].mean(1)[:, 0]) < 0.03  # the middle of the face
    assert (normals[front, 2] > 0).mean() > 0.95
    assert set(region("FACEMESH_LIPS")) <= set(range(468)) and len(region("FACEMESH_LEFT_EYE")) == 16


@pytest.mark.slow
def test_rendered_faces_are_labelled_where_the_published_model_finds_them(tmp_path):
    renders, data, fair = tmp_path / "renders", tmp_path / "data", tmp_path / "fair"
    assert (
        main(
            ["render", "scene=faces", "n=6", "shards=1", "resolution=192", "samples=8", "seed=3", f"run_dir={renders}"]
        )
        == 0
    )
    lines = [json.loads(line) for line in (renders / "shard-00000" / "labels.jsonl").read_text().splitlines()]
    assert len(lines) == 6
    for label in lines:
        points = np.array(label["keypoints"])[0]
        assert points.shape == (478, 3) and (points[:, :2] > 0).all() and (points[:, :2] < 192).all()
        assert 0.3 < np.mean(label["visibility"]) <= 1 and "jaw_open=" in label["meta"]["expression"]
        # Iris rims in MediaPipe's order: the first rim point towards the image's right on the
        # subject's right eye and towards its left on the left eye (the iris model sees it mirrored).
        across = points[263, :2] - points[33, :2]
        assert (points[469, :2] - points[468, :2]) @ across > 0 > (points[474, :2] - points[473, :2]) @ across
    # Faces land on real photos (scikit-image's, by default), procedural backdrops or the HDRI itself.
    backgrounds = [label["meta"]["background"] for label in lines]
    photos = {path.name for path in package_photos("test")}
    assert all(b in photos or b == "procedural" or b.startswith("hdri:") for b in backgrounds)
    assert set(backgrounds) & photos and len(set(backgrounds)) > 2
    assert all("turn" in label["meta"]["head_pose"] and "gender" in label["meta"]["identity"] for label in lines)
    # Iris depth: the labelled irises give the true distance back (the formula's own error); the
    # published iris model's figures are reported, not bounded (README).
    assert main(["evaluate", "iris_depth", f"renders={renders}", f"run_dir={tmp_path / 'iris'}"]) == 0
    iris = json.loads((tmp_path / "iris" / "metrics.json").read_text())
    assert iris["eyes"] == 12 and iris["labelled_relative_error"]["p50"] < 0.05
    assert iris["relative_error"]["p10"] <= iris["relative_error"]["p50"] <= iris["relative_error"]["p90"]
    assert main(["datasets", "build", "data=face_mesh", f"renders={renders}", f"run_dir={data}"]) == 0
    assert (
        main(
            [
                "evaluate",
                "fairness",
                f"dataset={data}",
                "group_by=skin_tone",
                "split=train",
                "bootstrap=100",
                f"run_dir={fair}",
            ]
        )
        == 0
    )
    metrics = json.loads((fair / "metrics.json").read_text())
    # MediaPipe's own face_landmark model, cropped from our labels, lands near them: the renders
    # read as faces and the labels follow its vertex order (100 renders: see the README).
    assert metrics["count"] >= 3 and metrics["nme"] < 8, metrics["nme"]


@pytest.mark.slow
def test_face_renders_give_the_face_detectors_six_keypoints(tmp_path):
    from blazeforge.datasets import load, summary

    renders = tmp_path / "renders"
    args = [
        "render",
        "scene=faces",
        "scene.face_model=mediapipe_mesh",
        "n=10",
        "shards=1",
        "resolution=96",
        "samples=2",
    ]
    assert main([*args, f"run_dir={renders}"]) == 0
    meshes = [
        np.array(json.loads(line)["keypoints"])[0]
        for line in (renders / "shard-00000" / "labels.jsonl").read_text().splitlines()
    ]
    assert main(["datasets", "build", "data=faces", f"renders={renders}", f"run_dir={tmp_path / 'data'}"]) == 0
    assert main(["datasets", "build", "data=hands", f"renders={renders}", f"run_dir={tmp_path / 'bad'}"]) == 2
    split = next(name for name, count in summary(tmp_path / "data")["splits"].items() if count)
    example = next(load(tmp_path / "data", split).as_numpy_iterator())
    points = example["keypoints"][0]
    assert points.shape == (6, 3) and example["keypoint_mask"][0][:, :2].all()
    mesh = next(m for m in meshes if np.allclose(m[4, :2], points[2, :2], atol=0.01))  # nose: vertex 4
    right_eye = points[0, :2]  # between the right eye's corners 33 and 133
    assert np.linalg.norm(right_eye - (mesh[33, :2] + mesh[133, :2]) / 2) < 0.3 * np.linalg.norm(
        mesh[33, :2] - mesh[133, :2]
    )
    assert np.allclose(points[3, :2], (mesh[13, :2] + mesh[14, :2]) / 2, atol=0.01)  # mouth


@pytest.mark.slow
def test_rendered_expressions_read_back_as_face_semantics(tmp_path):
    from blazeforge.runtime.effects import face_semantics

    assert (
        main(
            ["render", "scene=faces", "n=16", "shards=1", "resolution=96", "samples=1", "seed=4", f"run_dir={tmp_path}"]
        )
        == 0
    )
    rows = []
    for line in (tmp_path / "shard-00000" / "labels.jsonl").read_text().splitlines():
        label = json.loads(line)
        params = dict(item.split("=") for item in label["meta"]["expression"].split())
        seen = face_semantics(np.array(label["keypoints"])[0][:468])
        rows.append(
            (
                float(params["jaw_open"]),
                seen["mouth_open"],
                float(params["blink"]),
                (seen["eye_blink_left"] + seen["eye_blink_right"]) / 2,
            )
        )
    rows = np.array(rows)
    assert np.corrcoef(rows[:, 0], rows[:, 1])[0, 1] > 0.9  # jaw open -> the lips part
    assert np.corrcoef(rows[:, 2], rows[:, 3])[0, 1] > 0.8  # blink -> the lids close


@pytest.mark.slow
def test_occluders_hide_the_points_behind_them(tmp_path, capsys):
    """Glasses, hair and hands in front of the face: the same faces (same seed) lose visible points."""
    visible, faces = {}, {}
    for probability in (0.0, 1.0):
        out = tmp_path / f"p{probability}"
        assert (
            main(
                [
                    "render",
                    "scene=faces",
                    "n=4",
                    "shards=1",
                    "resolution=96",
                    "samples=1",
                    "seed=11",
                    f"scene.occluders.probability={probability}",
                    f"run_dir={out}",
                ]
            )
            == 0
        )
        labels = [json.loads(line) for line in (out / "shard-00000" / "labels.jsonl").read_text().splitlines()]
        visible[probability] = np.array([np.array(label["visibility"][0]) for label in labels])
        faces[probability] = np.array([np.array(label["keypoints"][0]) for label in labels])
    np.testing.assert_allclose(faces[1.0], faces[0.0], atol=1e-3)  # the same faces, occluded
    assert (visible[1.0] <= visible[0.0]).all() and visible[1.0].sum() < visible[0.0].sum()
    assert (
        main(["render", "scene=faces", "n=1", "shards=1", "scene.occluders.kinds=[hat]", f"run_dir={tmp_path / 'bad'}"])
        == 2
    )
    assert "scene.occluders.kinds: expected a non-empty list of glasses, hair, hand" in capsys.readouterr().err
    wrong_model = "scene.face_model: expected makehuman or mediapipe_mesh, got 'clay'"
    for bad, message in (("scene.face_model=clay", wrong_model),
                         ("+scene.expressions.sneer=1", "scene.expressions.sneer: not an expression")):  # fmt: skip
        assert main(["render", "scene=faces", "n=1", "shards=1", bad, f"run_dir={tmp_path / 'bad'}"]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_the_bound_points_follow_expressions_as_the_published_model_sees_them(tmp_path):
    """New identities, neutral and then in an expression: MediaPipe's face detector + face mesh
    (through our runtime, on the whole image) lands about as near our labels on both."""
    import cv2

    from blazeforge.config import compose
    from blazeforge.evaluation.realism import PIPELINES, Referee
    from blazeforge.synthetic.face_scene import FaceScene

    scene = FaceScene(compose("render", ["scene=faces", "scene.occluders.probability=0"]).scene, 256, 8)
    referee = Referee("faces")
    expression = {"jaw_open": 0.3, "smile": 0.5, "blink": 0.3, "brow_raise": 0.5, "frown": 0.2}
    nme = {"neutral": [], "expression": []}
    for k in range(4):
        for kind, fixed in (("neutral", {}), ("expression", expression)):
            rng = np.random.default_rng(100 + k)  # the same identity, pose and camera for both
            head = scene.head(rng, expression=fixed, angles=((k % 3 - 1) * 12.0, 0.0, 0.0))
            frame = tmp_path / f"{kind}{k}.png"
            labels = scene.photograph(rng, head, scene.frame(rng, head), frame, tmp_path / "mask.png")
            pred = referee(cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB), labels["keypoints"])
            assert pred is not None, f"{kind} face {k} not found"
            label = labels["keypoints"][:468]
            nme[kind].append(
                np.linalg.norm(pred - label[:, :2], axis=1).mean() / PIPELINES["faces"].length(label) * 100
            )
    neutral, expressive = np.mean(nme["neutral"]), np.mean(nme["expression"])
    # Measured on 10 identities so: 3.5% IOD neutral, 3.8% in the expression (these 4: 3.4, 3.8).
    assert neutral < 5 and expressive < neutral + 1.0, nme

"""One harness for every registered task: build it, train a step on a tiny fixture, save and
reload, export fp32 and int8, check parity, and decode the int8 export through the runtime for
each role its sidecar says it fills. A family added to the registry is covered here at once."""

import json
from dataclasses import replace

import numpy as np
import pytest

from blazeforge import recipes
from blazeforge.datasets import build
from blazeforge.engine import configure, run_stage
from blazeforge.geometry.cuboid_decoding import DecoderConfig
from blazeforge.geometry.roi import Roi
from blazeforge.models import load_model
from blazeforge.recipes.detection import kinds
from blazeforge.runs import read_sidecar
from blazeforge.runtime.models import load_detector, load_landmarks, resolve
from tests.fixtures import face_mesh_coco, fake_bodies, fake_objects, fake_renders, hand_points, pasted_faces

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """dataset(topology) -> a tiny datasets run directory of that topology, built once."""
    root, built = tmp_path_factory.mktemp("tasks"), {}
    sources = {
        "hand": lambda: ["data=hands", f"renders={fake_renders(root / 'hands', shards=2, per_shard=6)}"],
        "face_keypoints": lambda: ["data=faces", f"coco={pasted_faces(root / 'faces', count=8)}"],
        "face_mesh": lambda: ["data=face_mesh", f"coco={face_mesh_coco(root / 'mesh', count=6)}"],
        "pose": lambda: ["data=bodies", f"renders={fake_bodies(root / 'bodies', count=8)}"],
        "cuboid": lambda: ["data=objects", f"renders={fake_objects(root / 'objects', count=8)}"],
        "face_mesh_iris": lambda: [
            "data=face_mesh_iris",
            f"coco={face_mesh_coco(root / 'iris', count=6, irises=True)}",
        ],
    }

    def get(topology):
        if topology not in built:
            build(configure("datasets", sources[topology]()), root / f"{topology}-data")
            built[topology] = root / f"{topology}-data"
        return built[topology]

    return get


def _runtime_check(task, role, found, tmp_path):
    """The export, loaded by the runtime for `role`, gives well-formed results."""
    image = np.random.default_rng(0).integers(0, 255, (160, 200, 3), np.uint8)
    if role.endswith("_detector"):
        detector, kind = load_detector(found.path), kinds.detector(task.detector)
        detections = detector(image)  # decoded with the published detector's anchors and options
        threshold = read_sidecar(found.path)["decode"]["min_score"]  # export.min_score=auto's choice
        assert detector.spec == replace(kind.spec, decode=replace(kind.spec.decode, min_score=threshold))
        assert detector.value_range == kind.input_range
        return detections.shape == (len(detections), 5 + 2 * kind.count)
    if role == "cuboids":
        from blazeforge.runtime.cuboids import CuboidDetector

        boxes = CuboidDetector(found.path, config=DecoderConfig(heatmap_threshold=0.0))(image)
        well_formed = all(b["pixels"].shape == (9, 2) and b["box"].shape == (9, 3) for b in boxes)
        return bool(boxes) and well_formed and _objectron_runs(found, tmp_path)
    if role == "gesture_classifier":
        from blazeforge.runtime.calculators.gestures import GestureClassifier

        name, p = GestureClassifier(found.path)(hand_points(np.random.default_rng(1)))
        return 0.0 <= p <= 1.0
    model, _ = load_landmarks(found.path, found.role)
    points = model(image, Roi(100.0, 80.0, 120.0, 120.0, 0.3))
    return points.ndim == 2 and points.shape[1] == found.role.values and np.isfinite(points).all()


def _objectron_runs(found, tmp_path) -> bool:
    """`run pipeline=objectron` with the export (every peak taken) on a panning photo: one line a
    frame, each box 9 points with a finite 3D box, the detector's calls counted."""
    import cv2
    from skimage import data

    from blazeforge.runtime.pipeline import load, run_pipeline

    photo, folder = data.astronaut(), tmp_path / "pan"
    folder.mkdir()
    for i in range(12):
        cv2.imwrite(
            str(folder / f"{i:03d}.png"), cv2.cvtColor(photo[100:292, 40 + 3 * i : 296 + 3 * i], cv2.COLOR_RGB2BGR)
        )
    config = load("objectron")
    detector = next(n for n in config.nodes if n.calculator == "CuboidDetection")
    detector.options = {**detector.options, "threshold": 0.0}
    metrics = run_pipeline(config, str(folder), tmp_path / "run", str(found.path), "int8")
    frames = [json.loads(line) for line in (tmp_path / "run" / "frames.jsonl").read_text().splitlines()]
    boxes = [b for f in frames for b in f["instances"]]
    calls = metrics["calculators"]["detector"]["calls"]
    return (
        len(frames) == metrics["frames"] == 12
        and calls >= 1
        and bool(boxes)
        and calls == round(metrics["detector_fraction"] * 12)
        and all(np.shape(b["landmarks"]) == (9, 3) and np.isfinite(b["box"]).all() for b in boxes)
        and (tmp_path / "run" / "annotated.mp4").is_file()
    )


@pytest.mark.parametrize("name", recipes.names())
def test_every_task_trains_reloads_exports_and_runs(name, dataset, tmp_path):
    task = recipes.get(name)
    recipe = configure("train", [f"recipe={name}"]).recipe
    data = dataset(task.data_topology(recipe))
    quick = ["experiment=smoke", "trainer.wandb=disabled", "export.calibration=4", "export.latency_runs=3"]
    extra = ["recipe.synthetic=64"] if name == "gesture" else []  # the posed hands it adds to the renders'
    extra += [f"trainer.epochs={len(recipe.get('phases') or [None])}"]  # an epoch for each phase
    cfg = configure(
        "train",
        [f"recipe={name}", f"dataset={data}", "trainer.steps_per_epoch=1", "trainer.batch_size=2"] + quick + extra,
    )
    train_dir, trained = run_stage("train", cfg, tmp_path / "train")
    assert trained["task"] == name and np.isfinite(trained["train_loss"])

    model, last = load_model(train_dir), load_model(train_dir / "checkpoints" / "last.keras")
    x = np.random.default_rng(0).uniform(0, 1, (1, *model.input_shape[1:])).astype(np.float32)
    out, again = model(x, training=False), last(x, training=False)
    outputs = out if isinstance(out, dict) else dict(enumerate(out))
    for key, value in outputs.items():
        np.testing.assert_allclose(
            np.asarray(value),
            np.asarray((again if isinstance(again, dict) else dict(enumerate(again)))[key]),
            atol=1e-5,
        )

    export = configure("export", [f"checkpoint={train_dir}", "quantize=[none,int8]"] + quick)
    export_dir, exported = run_stage("export", export, tmp_path / "export")
    assert set(exported["exports"]) == {"fp32", "int8"}
    for output, figures in exported["exports"]["fp32"]["parity"].items():
        assert figures["max_abs_diff"] < 1e-2, output
    sidecar = json.loads((export_dir / f"{name}.json").read_text())
    assert sidecar["task"] == name and set(sidecar["roles"]) == set(task.roles)

    for role in task.roles:
        found = resolve([role], str(export_dir), "int8", "harness")[role]
        assert found.path == export_dir / f"{name}_int8.tflite"
        assert _runtime_check(task, role, found, tmp_path), role

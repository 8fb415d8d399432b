"""Effects driven by face landmarks: lip makeup by tone bands, face semantics, the puppet pipeline."""

import json
from pathlib import Path

import numpy as np

from blazeforge.runtime.effects import EYES, MOUTH, face_semantics, lip_loops, lip_makeup, lip_mask
from blazeforge.runtime.pipeline import load, run_pipeline
from blazeforge.zoo.parity import photos
from tests.fixtures import moving_clip

RECORDED = json.loads((Path(__file__).parents[1] / "zoo" / "mediapipe_outputs.json").read_text())["photos"]


def _astronaut():
    image = photos()["skimage.astronaut"]
    mesh = np.array(RECORDED["skimage.astronaut"]["face_mesh"])[:, :2] * image.shape[1::-1]
    return image, mesh


def test_lipstick_lands_on_the_lips_only_and_keeps_their_shading():
    image, mesh = _astronaut()
    assert [len(loop) for loop in lip_loops()] == [20, 20]
    out = lip_makeup(image, mesh, color=(170, 20, 60), strength=0.7)
    mask = lip_mask(image.shape[:2], mesh)
    lips, far = mask > 0.5, mask == 0
    change = np.abs(out.astype(int) - image).sum(-1)
    assert change[far].max() == 0  # nothing outside the feathered lips
    before, after = image[lips].astype(float), out[lips].astype(float)
    assert (after[:, 0] - after[:, 1]).mean() > (before[:, 0] - before[:, 1]).mean() + 15  # redder
    # Shadows stay darker than highlights: the tone bands keep the lips' shading.
    lum = before.mean(1)
    dark, bright = lum < np.percentile(lum, 25), lum > np.percentile(lum, 75)
    assert after[dark].mean() < after[bright].mean()


def test_face_semantics_read_the_neutral_face_and_move_with_the_landmarks():
    _, mesh = _astronaut()
    neutral = face_semantics(mesh)
    assert neutral["eye_blink_left"] < 0.2 and neutral["eye_blink_right"] < 0.2 and neutral["brow_raise"] < 0.3
    closed = mesh.copy()
    for eye in EYES.values():
        upper, lower = eye["lids"]
        closed[upper] = closed[lower] = (mesh[upper] + mesh[lower]) / 2
    assert face_semantics(closed)["eye_blink_left"] == 1.0 and face_semantics(closed)["eye_blink_right"] == 1.0
    opened = mesh.copy()
    width = np.linalg.norm(mesh[MOUTH["corners"][0]] - mesh[MOUTH["corners"][1]])
    opened[MOUTH["lips"][1]] += (0, 0.5 * width)
    assert face_semantics(opened)["mouth_open"] > neutral["mouth_open"] + 0.5
    raised = mesh.copy()
    for eye in EYES.values():
        raised[eye["brow"]] -= (0, 0.1 * np.linalg.norm(mesh[33] - mesh[263]))
    assert face_semantics(raised)["brow_raise"] > neutral["brow_raise"] + 0.5


def test_the_face_effects_pipeline_writes_semantics_and_draws_the_puppet(tmp_path):
    clip, _ = moving_clip(tmp_path / "face.mp4", "face", frames=10, absent=(10, 10))
    metrics = run_pipeline(load("face_effects"), clip, tmp_path / "run")
    assert {"makeup", "semantics", "puppet"} <= set(metrics["calculators"])
    frame = json.loads((tmp_path / "run" / "frames.jsonl").read_text().splitlines()[5])
    face = frame["instances"][0]
    assert {"eye_blink_left", "eye_blink_right", "mouth_open", "brow_raise"} <= set(face)
    assert all(0 <= face[k] <= 1 for k in ("eye_blink_left", "mouth_open", "brow_raise"))
    from blazeforge.runtime.calculators.io import read_frames

    source, made = read_frames(clip)[5], read_frames(tmp_path / "run" / "annotated.mp4")[5]
    corner = np.abs(made[:100, -100:].astype(int) - source[:100, -100:]).mean()
    assert corner > 20  # the puppet's panel


def test_iris_depth_uses_the_exif_focal_length_of_a_photo_folder(tmp_path):
    from PIL import Image

    from blazeforge.geometry.iris import focal_from_35mm, iris_depth_mm

    image, _ = _astronaut()
    folder = tmp_path / "photos"
    folder.mkdir()
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 50  # 50 mm equivalent
    Image.fromarray(image).save(folder / "a.jpg", exif=exif)
    metrics = run_pipeline(load("face_mesh"), folder, tmp_path / "run")
    face = json.loads((tmp_path / "run" / "frames.jsonl").read_text())["instances"][0]
    focal = focal_from_35mm(512, 512, 50)
    left = np.array(face["iris"][0])
    assert (
        metrics["frames"] == 1
        and abs(face["depth_mm"] - iris_depth_mm(left, focal, (512, 512))) < 0.1 * face["depth_mm"]
    )

"""MediaPipe's published models: where they come from, their checksums, and a local cache.

The .tflite files come out of the pinned `mediapipe` wheel (`pip download mediapipe==0.10.21
--no-deps`, unzipped into the cache), so nothing but the package registry is reached. Users online
can also take them from MediaPipe's model URLs (`fetch(..., source="url")`).

    from blazeforge import zoo
    path = zoo.tflite_path("hand_landmark_full")   # fetched and checked on first use

The cache is `$BLAZEFORGE_CACHE/zoo` (default `~/.cache/blazeforge/zoo`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from blazeforge.errors import BlazeforgeError

MEDIAPIPE_VERSION = "0.10.21"
MODEL_URL = "https://storage.googleapis.com/mediapipe-assets/{name}.tflite"


@dataclass(frozen=True)
class Output:
    """One output tensor of a published model, in the file's order.

    name: our name for it (the Keras layer making it); tensor: the name inside the .tflite.
    unit: "pixels" (of the model input: compared as a share of the input size), "logit" (compared
    after the sigmoid), "probability", "metres", "heatmap", or "pose" (per landmark x, y, z in
    pixels, then visibility and presence logits).
    """

    name: str
    tensor: str
    unit: str


@dataclass(frozen=True)
class ZooModel:
    """One published model and what a user needs to run it.

    name, wheel_member (its path in the mediapipe wheel; None for models that live only at
    MODEL_URL), sha256 (None where not known offline: recorded on first download); input_size
    (height, width) in pixels of an RGB float32 [1, H, W, 3] input in `input_range` (None: not known
    offline; `tflite_graph.io_spec` reads it from the file once fetched); outputs in the file's order;
    builder: "module:function(args)" of our Keras model with its architecture (None: not yet);
    detector: the name of its `geometry.anchors` DetectorSpec; topology: its landmark set.
    """

    name: str
    wheel_member: str | None
    sha256: str | None
    input_size: tuple[int, int] | None
    input_range: tuple[float, float] = (0.0, 1.0)
    outputs: tuple[Output, ...] = ()
    builder: tuple | None = None
    detector: str | None = None
    topology: str | None = None


def _m(module: str, name: str, sha256: str, size: int, **fields) -> ZooModel:
    return ZooModel(name, f"mediapipe/modules/{module}/{name}.tflite", sha256, (size, size), **fields)


def _outs(*specs: str) -> tuple[Output, ...]:
    """Outputs from "name=tensor:unit" strings."""
    out = []
    for spec in specs:
        name, rest = spec.split("=")
        tensor, unit = rest.split(":")
        out.append(Output(name, tensor, unit))
    return tuple(out)


_HAND = _outs(
    "landmarks=Identity:pixels",
    "presence=Identity_1:probability",
    "handedness=Identity_2:probability",
    "world_landmarks=Identity_3:metres",
)
_POSE_LANDMARK = _outs(
    "landmarks=Identity:pose",
    "pose_flag=Identity_1:probability",
    "segmentation=Identity_2:logit",
    "heatmap=Identity_3:heatmap",
    "world_landmarks=Identity_4:metres",
)
_DETECTOR = _outs("regressors=Identity:pixels", "classificators=Identity_1:logit")
MODELS = {
    m.name: m
    for m in (
        _m(
            "hand_landmark",
            "hand_landmark_full",
            "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
            224,
            outputs=_HAND,
            builder=("blazeforge.models.hand_landmark", "hand_landmark_model", "full"),
            topology="hand",
        ),
        _m(
            "hand_landmark",
            "hand_landmark_lite",
            "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
            224,
            outputs=_HAND,
            builder=("blazeforge.models.hand_landmark", "hand_landmark_model", "lite"),
            topology="hand",
        ),
        _m(
            "palm_detection",
            "palm_detection_full",
            "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
            192,
            outputs=_DETECTOR,
            builder=("blazeforge.models.blazepalm", "blazepalm_model", "full"),
            detector="PALM_DETECTION",
        ),
        _m(
            "palm_detection",
            "palm_detection_lite",
            "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
            192,
            outputs=_DETECTOR,
            builder=("blazeforge.models.blazepalm", "blazepalm_model", "lite"),
            detector="PALM_DETECTION",
        ),
        _m(
            "face_detection",
            "face_detection_short_range",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            128,
            input_range=(-1.0, 1.0),
            outputs=_outs("regressors=regressors:pixels", "classificators=classificators:logit"),
            builder=("blazeforge.models.blazeface", "blazeface_short_range_model"),
            detector="FACE_DETECTION_SHORT_RANGE",
        ),
        _m(
            "face_detection",
            "face_detection_full_range_sparse",
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
            192,
            input_range=(-1.0, 1.0),
            outputs=_DETECTOR,
            detector="FACE_DETECTION_FULL_RANGE",
            builder=("blazeforge.models.blazeface", "blazeface_full_range_model"),
        ),
        _m(
            "face_landmark",
            "face_landmark",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            192,
            outputs=_outs("landmarks=conv2d_21:pixels", "face_flag=conv2d_31:logit"),
            builder=("blazeforge.models.face_mesh", "face_mesh_model"),
            topology="face_mesh",
        ),
        _m(
            "face_landmark",
            "face_landmark_with_attention",
            "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
            192,
            topology="face_mesh",
            outputs=_outs(
                "landmarks=output_mesh_identity:pixels",
                "lips=output_lips:pixels",
                "left_eye=output_left_eye:pixels",
                "right_eye=output_right_eye:pixels",
                "left_iris=output_left_iris:pixels",
                "right_iris=output_right_iris:pixels",
                "face_flag=conv_faceflag:logit",
            ),
        ),
        _m(
            "iris_landmark",
            "iris_landmark",
            "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
            64,
            outputs=_outs("eye_contour=output_eyes_contours_and_brows:pixels", "iris=output_iris:pixels"),
            builder=("blazeforge.models.iris", "iris_landmark_model"),
            topology="eye",
        ),
        _m(
            "pose_detection",
            "pose_detection",
            "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
            224,
            input_range=(-1.0, 1.0),
            outputs=_DETECTOR,
            detector="POSE_DETECTION",
            builder=("blazeforge.models.blazepose", "pose_detection_model"),
        ),
        _m(
            "pose_landmark",
            "pose_landmark_full",
            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
            256,
            topology="pose",
            builder=("blazeforge.models.blazepose", "pose_landmark_model"),
            outputs=_POSE_LANDMARK,
        ),
        # Only at MediaPipe's model URLs (the wheel's solutions download them): source=url.
        ZooModel("pose_landmark_lite", None, None, (256, 256), outputs=_POSE_LANDMARK, topology="pose"),
        ZooModel("pose_landmark_heavy", None, None, (256, 256), outputs=_POSE_LANDMARK, topology="pose"),
        *(ZooModel(f"object_detection_3d_{kind}", None, None, None) for kind in ("sneakers", "chair", "camera", "cup")),
        _m(
            "holistic_landmark",
            "hand_recrop",
            "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
            256,
            outputs=_outs(
                "keypoints=output_crop:pixels",
            ),
            builder=("blazeforge.models.hand_recrop", "hand_recrop_model"),
        ),
        _m(
            "selfie_segmentation",
            "selfie_segmentation",
            "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
            256,
            outputs=_outs(
                "mask=activation_10:probability",
            ),
        ),
    )
}


def cache_dir() -> Path:
    return Path(os.environ.get("BLAZEFORGE_CACHE", Path.home() / ".cache" / "blazeforge")) / "zoo"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model(name: str) -> ZooModel:
    if name not in MODELS:
        raise BlazeforgeError(f"model {name!r}", f"not in the zoo; expected one of {sorted(MODELS)}")
    return MODELS[name]


def wheel_path() -> Path:
    """The cached mediapipe wheel, downloaded from the package registry on first use."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"mediapipe=={MEDIAPIPE_VERSION}",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(wheels),
        "-q",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(wheels.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if result.returncode or not found:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BlazeforgeError(
            f"mediapipe=={MEDIAPIPE_VERSION}", f"could not download the wheel from the package registry ({last})"
        )
    return found[0]


def in_wheel() -> list[str]:
    """The models the pinned mediapipe wheel carries (what `fetch()` takes by default)."""
    return [name for name, m in MODELS.items() if m.wheel_member]


def _checked(m: ZooModel, path: Path) -> bool:
    """Whether the cached file is intact: its sha256 is the registry's, or (for a model the registry
    has no checksum of) the one recorded beside it when it was downloaded."""
    if not path.is_file():
        return False
    recorded = path.with_name(path.name + ".sha256")
    expected = m.sha256 or (recorded.read_text().strip() if recorded.is_file() else None)
    return expected is not None and _sha256(path) == expected


def fetch(names: list[str] | None = None, source: str = "wheel") -> dict[str, Path]:
    """Cache the named models (default: all that the wheel carries) and return their paths.

    source: "wheel" (the pinned mediapipe wheel from the package registry) or "url" (MediaPipe's
    model URLs, for users online; the only source of the models whose wheel_member is None).
    Checksums are verified against the registry; a model it has no checksum of is trusted on first
    download, its sha256 recorded beside it (NAME.tflite.sha256) and checked from then on.
    """
    if source not in ("wheel", "url"):
        raise BlazeforgeError("source", f"expected 'wheel' or 'url', got {source!r}")
    models = [_model(n) for n in (names or in_wheel())]
    out, missing = {}, []
    for m in models:
        path = cache_dir() / f"{m.name}.tflite"
        if _checked(m, path):
            out[m.name] = path
        else:
            missing.append(m)
    if missing and source == "wheel":
        online = [m.name for m in missing if not m.wheel_member]
        if online:
            raise BlazeforgeError(
                f"model {online[0]!r}",
                f"is not in the mediapipe wheel; it lives at "
                f"{MODEL_URL.format(name=online[0])}: fetch it with "
                f"source=url (network needed)",
            )
        with zipfile.ZipFile(wheel_path()) as wheel:
            for m in missing:
                path = cache_dir() / f"{m.name}.tflite"
                path.write_bytes(wheel.read(m.wheel_member))
                out[m.name] = path
    elif missing:
        import urllib.request

        for m in missing:
            path = cache_dir() / f"{m.name}.tflite"
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                urllib.request.urlretrieve(MODEL_URL.format(name=m.name), path)
            except OSError as e:
                raise BlazeforgeError(MODEL_URL.format(name=m.name), f"could not download ({e})") from None
            if m.sha256 is None:
                path.with_name(path.name + ".sha256").write_text(_sha256(path) + "\n")
            out[m.name] = path
    for m in missing:
        if m.sha256 is not None and _sha256(out[m.name]) != m.sha256:
            out[m.name].unlink()
            raise BlazeforgeError(out[m.name], f"sha256 mismatch for {m.name}; expected {m.sha256}")
    return out


def tflite_path(name: str) -> Path:
    """Local path of a published model's .tflite, fetched on first use."""
    return fetch([name])[name]


def get(name: str) -> ZooModel:
    """The registry entry of a published model (BlazeforgeError naming the choices if unknown)."""
    return _model(name)


def build_keras(name: str, named_outputs: bool = False, **options):
    """Our Keras model with the architecture of published model `name`, freshly initialised.

    Outputs are a list in the file's order, or with named_outputs a dict keyed by `Output.name`
    (what training and export use: a SavedModel signature then names each output). options go to
    its builder (pose_detection's regressor_scale).
    """
    import importlib

    import keras

    m = _model(name)
    if m.builder is None:
        ready = sorted(k for k, v in MODELS.items() if v.builder)
        raise BlazeforgeError(f"model {name!r}", f"has no Keras architecture in blazeforge yet; these do: {ready}")
    module, function, *args = m.builder
    avoid_remapper_crashes()
    model = getattr(importlib.import_module(module), function)(*args, **options)
    if named_outputs:
        model = keras.Model(model.inputs, {o.name: t for o, t in zip(m.outputs, model.outputs)}, name=name)
    return model


def keras_model(name: str, named_outputs: bool = False):
    """Our Keras model of published model `name` with its weights imported from the .tflite.

    Outputs are in the file's order and units (`get(name).outputs`), as a list or, with
    named_outputs, a dict; the input is float32 [B, H, W, 3] RGB in `get(name).input_range`.
    """
    from blazeforge.zoo.importer import load_tflite_weights

    model = build_keras(name, named_outputs)
    return load_tflite_weights(model, tflite_path(name), [o.name for o in _model(name).outputs])


def avoid_remapper_crashes():
    """Turn off Grappler's "remapping" pass (TensorFlow backend only) before a published model runs.

    In TensorFlow 2.20 (oneDNN on CPU) that pass breaks two patterns of the published
    architectures: a BlazeBlock without BatchNorm whose skip path pads channels (the fused
    Conv2D + BiasAdd + Add + ReLU segfaults in `predict` and `fit`), and Keras' PReLU (relu(x) -
    alpha * relu(-x): "Mutation::Apply error: fanout ... unary_ops_composition", then sometimes a
    segfault). The setting is process-wide; the other Grappler passes stay on.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"remapping": False})

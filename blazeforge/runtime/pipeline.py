"""Run a pipeline (a graph file) on a source with published models or our exports; write the results.

    blazeforge run pipeline=hands source=clip.mp4 models=mediapipe
    blazeforge run pipeline=face_mesh source=clip.mp4 models=outputs/export/... iris=false

Writes, in the run directory: annotated.mp4, frames.jsonl (one line per frame: frame index,
timestamp, per instance its score, box and landmarks in pixels) and metrics.json (`fps`,
`detector_fraction`, median and p95 ms per calculator, `inference_ms`, the model files used).
"""

from __future__ import annotations

import logging
from pathlib import Path

from blazeforge.errors import BlazeforgeError
from blazeforge.runtime import calculators  # noqa: F401  (registers the calculators)
from blazeforge.runtime.cuboids import CuboidDetector
from blazeforge.runtime.graph import GraphConfig, GraphRun
from blazeforge.runtime.interpreter import LITERT_GPU, gpu_delegate
from blazeforge.runtime.models import load_detector, load_landmarks, resolve

log = logging.getLogger(__name__)
PIPELINES = Path(__file__).parent / "pipelines"
# The calculators that run a model, and the role each takes when its options name none.
MODEL_CALCULATORS = {
    "Detector": "palm_detector",
    "Landmarks": "hand_landmarks",
    "Iris": "iris",
    "Gestures": "gesture_classifier",
    "CuboidDetection": "cuboids",
}

DETECTORS = ("Detector", "CuboidDetection")  # whose calls `detector_fraction` counts


def pipelines() -> list[str]:
    """Names of the shipped pipelines."""
    return sorted(p.stem for p in PIPELINES.glob("*.yaml"))


def load(
    pipeline: str,
    max_instances: int | None = None,
    iris: bool = True,
    overflow: str | None = None,
    workers: int | None = None,
    video: bool = True,
    boxes: list | None = None,
) -> GraphConfig:
    """A shipped pipeline by name (or a graph file's path), with the run's switches applied.

    boxes: box_tracking from user boxes [[x0, y0, x1, y1], ...] (pixels, first frame): the
    detector and its gate are dropped and the tracker starts from them."""
    path = PIPELINES / f"{pipeline}.yaml" if pipeline in pipelines() else Path(pipeline)
    if not path.is_file():
        raise BlazeforgeError(f"pipeline={pipeline}", f"expected one of {', '.join(pipelines())} or a graph file")
    config = GraphConfig.load(path)
    if max_instances is not None:
        for node in config.nodes:
            if "max_instances" in node.options:
                node.options = {**node.options, "max_instances": int(max_instances)}
    if not iris and any(n.name == "iris" for n in config.nodes):
        config = config.without("iris")
    if not video:  # no annotated video: its drawing goes too
        config = config.dropping({n.name for n in config.nodes if n.calculator in ("VideoSink", "Annotate")})
    if boxes:
        trackers = [n for n in config.nodes if n.calculator == "BoxTracker"]
        if not trackers:
            raise BlazeforgeError("boxes", f"pipeline {config.name} has no BoxTracker to start from boxes")
        if any(n.calculator == "CuboidTracking" for n in config.nodes):
            raise BlazeforgeError(
                "boxes", f"pipeline {config.name} lifts its 3D boxes from its detector's; boxes= gives 2D boxes only"
            )
        for node in trackers:
            node.options = {**node.options, "boxes": [[float(v) for v in box] for box in boxes]}
        config = config.dropping({n.name for n in config.nodes if n.calculator in (*DETECTORS, "DetectionGate")})
    if overflow is not None:
        if overflow not in ("queue", "drop"):
            raise BlazeforgeError("overflow", f"expected queue or drop, got {overflow!r}")
        config.overflow = overflow
    if workers is not None:
        config.workers = int(workers)
    return config


def roles(config: GraphConfig) -> list[str]:
    """The model roles a graph's nodes name."""
    out = []
    for node in config.nodes:
        if node.calculator in MODEL_CALCULATORS:
            out.append(node.options.get("model", MODEL_CALCULATORS[node.calculator]))
    return out


def load_models(found: dict, threads: int = 1, delegate: str = "cpu") -> tuple[dict, list, str]:
    """({role: loaded model}, [their TfliteModels], the delegate they run on) of `resolve`'s
    {role: Found}: an SsdDetector for detectors, a CuboidDetector for Objectron's model,
    (LandmarkModel, Role) for landmark models, the
    path for the gesture classifier (its calculator loads it). delegate="gpu" uses a GPU delegate
    library where one loads, else LiteRT's own GPU accelerator where it finds a GPU
    (`interpreter.gpu_delegate`), else XNNPack on the CPU, with a warning."""
    if delegate not in ("cpu", "gpu"):
        raise BlazeforgeError("delegate", f"expected cpu or gpu, got {delegate!r}")
    first = gpu_delegate(probe=next(iter(found.values())).path if found else None) if delegate == "gpu" else None
    if delegate == "gpu" and first is None:
        log.warning(
            "run: no GPU delegate loads here and LiteRT's GPU accelerator finds no GPU (set "
            "BLAZEFORGE_GPU_DELEGATE to a delegate library); running on the CPU with XNNPack"
        )
        delegate = "cpu"
    out, files = {}, []
    for i, (role, model) in enumerate(found.items()):
        device = None  # a TFLite delegate serves one interpreter; LITERT_GPU is a choice, shared
        if delegate == "gpu":
            device = first if i == 0 or first is LITERT_GPU else gpu_delegate()
        if role == "gesture_classifier":
            out[role] = model.path
        elif role == "cuboids":
            out[role] = CuboidDetector(model.path, threads, delegate=device)
            files.append(out[role].model)
        elif role.endswith("_detector"):
            out[role] = load_detector(model.path, threads, device)
            files.append(out[role].model)
        else:
            landmarks, tflite = load_landmarks(model.path, model.role, threads, device)
            out[role] = (landmarks, model.role)
            files.append(tflite)
    return out, files, delegate


def run_pipeline(
    config: GraphConfig,
    source: str,
    out_dir: str | Path,
    models: str = "mediapipe",
    precision: str = "fp32",
    threads: int = 1,
    limit: int | None = None,
    delegate: str = "cpu",
) -> dict:
    """Run `config` on `source`; returns the metrics (also what `blazeforge run` writes)."""
    found = resolve(roles(config), models, precision, config.name)
    for role, model in found.items():
        log.info("run: %s <- %s", role, model.path)
    models_by_role, files, delegate = load_models(found, threads, delegate)
    context = {"models": models_by_role, "source": str(source), "out_dir": str(out_dir)}
    if "gesture_classifier" in models_by_role:
        context["gesture_classifier"] = str(models_by_role.pop("gesture_classifier"))
    if limit is not None:
        for node in config.nodes:
            if node.calculator == "VideoSource":
                node.options = {**node.options, "limit": int(limit)}
    run = GraphRun(config, context)
    for model in files:  # background calculators run while a model runs
        model.released = run.priority.released
    stats = run.run()
    frames = max(stats["frames"], 1)
    detector_calls = sum(
        stats["calculators"].get(n.name, {}).get("calls", 0) for n in config.nodes if n.calculator in DETECTORS
    )
    if stats["failures"]:
        log.warning(
            "run: %d calculator calls failed (logged above); their frames were skipped there", stats["failures"]
        )
    inference = sum(f.seconds for f in files)
    return {
        "pipeline": config.name,
        "source": str(source),
        **stats,
        "detector_fraction": round(detector_calls / frames, 4),
        "inference_ms": round(inference * 1000 / frames, 3),  # per frame, all models
        "pipeline_ms": round(stats["seconds"] * 1000 / frames, 3),  # per frame, wall clock
        "models": {role: str(model.path) for role, model in found.items()},
        "delegate": delegate,
        "threads": threads,
        **(
            {"fully_accelerated": {f.path.name: f.fully_accelerated for f in files}}
            if any(f.fully_accelerated is not None for f in files)
            else {}
        ),
    }


def run(cfg, run_dir: Path) -> dict:
    """The `run` verb: cfg.run holds pipeline, source, models, precision, threads and the switches."""
    r = cfg.run
    if not r.source:
        raise BlazeforgeError("run.source", "expected source=VIDEO | IMAGE_FOLDER | camera:N")
    boxes = [list(b) for b in r.boxes] if r.boxes else None
    config = load(str(r.pipeline), r.max_instances, bool(r.iris), r.overflow, r.workers, bool(r.video), boxes)
    # models=[A,B] (Hydra's list; a bare A,B is not valid Hydra syntax) or one string
    models = str(r.models) if isinstance(r.models, str) else ",".join(str(m) for m in r.models)
    return run_pipeline(
        config, str(r.source), run_dir, models, str(r.precision), int(r.threads), r.limit, str(r.delegate)
    )

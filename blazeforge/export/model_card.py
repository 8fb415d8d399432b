"""The model card every `blazeforge export` writes beside its .tflite files (`model_card.md`).

It has the sections of MediaPipe's published model cards (Google's model-card format): model
details, specifications, intended uses and what is out of scope, training data (its sources and
the share of real and synthetic samples), evaluation (the export's own check, then every
`blazeforge evaluate` run of the same checkpoint found under export.evaluations, with the
fairness report's groups where one ran), latency and limitations. Every figure comes out of run
directories; nothing is typed in by hand.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

from omegaconf import DictConfig

from blazeforge import runs

# Intended uses and limitations by the runtime role an export fills (MediaPipe's wording where its
# model cards state the same: one person close to the camera, not for surveillance or identity).
USES = {
    "palm_detector": "finding palms (box and 7 keypoints) in a whole image, to crop the hand landmark model's input",
    "hand_landmarks": "21 3D hand landmarks, presence and handedness from a hand crop, for gesture and AR effects",
    "face_detector": "finding faces (box and 6 keypoints) in a whole image, for the face landmark models' crops",
    "face_mesh": "468 3D face landmarks and a face flag from a face crop, for AR effects and expression cues",
    "iris": "the iris and eye contour from an eye crop, for gaze cues and metric depth from the iris size",
    "pose_detector": "finding bodies (box and alignment keypoints) in a whole image, for the pose landmark model",
    "pose_landmarks": "33 body landmarks with visibility, world landmarks and a segmentation from a body crop",
    "cuboids": "9-point 3D boxes of objects of the trained category, lifted by EPnP up to scale",
    "gesture_classifier": "naming hand gestures from 21 landmarks",
}
OUT_OF_SCOPE = (
    "identifying people, surveillance, or any decision about a person; medical or safety-critical measurement; "
    "inputs far from the training data (crowds, people far from the camera, heavy occlusion) without evaluation on them"
)


def _share(summary: dict) -> str:
    """The training split's samples by source, e.g. "504 real (90%), 56 synthetic (10%)"."""
    counts = summary.get("by_source", {}).get("train", {})
    total = sum(counts.values())
    if not total:
        return "none recorded"
    return ", ".join(f"{n} {source} ({100 * n / total:.0f}%)" for source, n in sorted(counts.items()))


def evaluations(folder: Path, checkpoint: str) -> list[tuple[Path, dict]]:
    """(run directory, metrics) of the finished evaluate runs under `folder` of `checkpoint`, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    target = os.path.realpath(checkpoint)
    for path in sorted(folder.rglob("metrics.json")):
        metrics = runs.read_metrics(path.parent)
        if (
            metrics
            and "exports" not in metrics
            and metrics.get("checkpoint")
            and os.path.realpath(str(metrics["checkpoint"])) == target
        ):
            found.append((path.parent, metrics))
    return found


def _evaluation_lines(run_dir: Path, metrics: dict) -> list[str]:
    from blazeforge.topology import get as get_topology

    unit = get_topology(metrics["topology"]).unit if metrics.get("topology") else "unit"
    lines = [f"`{run_dir}` ({metrics.get('split', 'test')} split of `{metrics.get('dataset')}`):", ""]
    if "nme_2d" in metrics:
        baseline = metrics.get("baseline_nme_2d")
        vs = f" against the mean shape's {100 * baseline:.1f}%" if baseline else ""
        lines.append(
            f"- NME 2D {100 * metrics['nme_2d']:.2f}% of the {unit}{vs}, over {metrics.get('count')} instances"
        )
    for key, label in (("pck_0.2", "PCK@0.2"), ("presence_auc", "presence AUC"), ("handedness_accuracy", "handedness")):
        if metrics.get(key) is not None:
            lines.append(f"- {label} {metrics[key]:.2f}")
    for key in ("AP50", "AP"):
        if metrics.get(key) is not None:
            lines.append(f"- {key} {metrics[key]:.3f}")
    card = run_dir / "model_card.md"  # evaluate fairness writes its section
    if card.is_file():
        lines += ["", card.read_text().strip().replace("## Fairness", "#### Fairness by group")]
    return lines + [""]


def write_model_card(cfg: DictConfig, run_dir: Path, task, metrics: dict) -> Path:
    """`model_card.md` in the export run directory, from the export's metrics and the runs it came from."""
    run_dir = Path(run_dir)
    checkpoint = str(cfg.export.checkpoint)
    trained = runs.train_config(checkpoint) if not checkpoint.startswith("mediapipe:") else None
    sidecar = runs.read_sidecar(next(iter(metrics["exports"].values()))["path"]) or {}
    recipe = trained.recipe if trained is not None else cfg.recipe
    init = trained.train.get("init") if trained is not None and "train" in trained else None
    roles = ", ".join(task.roles)
    lines = [
        f"# Model card: {task.name}",
        "",
        "## Model details",
        "",
        f"- Task: {task.name}, filling the runtime role(s) {roles} (MediaPipe's published counterpart: "
        + ", ".join(f"{r} -> {m}" for r, m in _published(task.roles).items())
        + ")",
        f"- Made by blazeforge export on {_dt.date.today().isoformat()} from `{checkpoint}`"
        + (f", fine-tuned from `{init}`" if init else ", trained from scratch"),
        "- License: Apache-2.0 (MediaPipe's published weights, where it started from them, are Apache-2.0 too)",
        "",
        "## Model specifications",
        "",
        f"- Architecture: {recipe.get('architecture', recipe.get('name'))}"
        + (f", width {recipe.width}" if recipe.get("width") else ""),
        f"- Input: RGB float32 [1, {sidecar.get('input_size', recipe.get('input_size'))}, "
        f"{sidecar.get('input_size', recipe.get('input_size'))}, 3] in "
        f"{list(sidecar.get('input_range', [0.0, 1.0]))}",
        f"- Outputs: {', '.join(sorted(sidecar.get('outputs') or [])) or 'see the sidecar'}"
        f" (sidecar `{runs.sidecar_path(next(iter(metrics['exports'].values()))['path'])}`)",
        "",
        "## Intended uses",
        "",
        *(f"- {USES.get(role, role)}" for role in task.roles),
        f"- Out of scope: {OUT_OF_SCOPE}",
        "",
        "## Training data",
        "",
    ]
    dataset = trained.train.get("dataset") if trained is not None and "train" in trained else None
    if dataset and Path(str(dataset), "dataset.json").is_file():
        from blazeforge.datasets import summary

        data = summary(str(dataset))
        splits = ", ".join(f"{k} {v}" for k, v in data["splits"].items())
        lines += [f"- `{dataset}`: {splits} samples", f"- Training split by source: {_share(data)}", ""]
    else:
        lines += ["- Not recorded (no train run with a datasets run behind the checkpoint)", ""]
    lines += ["## Evaluation", "", *_export_check(metrics), ""]
    found = evaluations(Path(str(cfg.export.evaluations)), checkpoint)
    for eval_dir, eval_metrics in found:
        lines += _evaluation_lines(eval_dir, eval_metrics)
    if not found:
        lines += [f"No `blazeforge evaluate` run of this checkpoint under `{cfg.export.evaluations}`.", ""]
    lines += [
        "## Latency",
        "",
        f"LiteRT with XNNPack on this machine ({_machine()}), median of {cfg.export.latency_runs} runs:",
        "",
    ]
    lines += [
        "| file | size | " + " | ".join(f"{t} thread" + ("s" if int(t) > 1 else "") for t in cfg.export.threads) + " |"
    ]
    lines += ["|---|---|" + "---|" * len(cfg.export.threads)]
    for figures in metrics["exports"].values():
        cells = " | ".join(f"{v['median']:.2f} ms" for v in figures["latency_ms"].values())
        lines.append(f"| `{Path(figures['path']).name}` | {figures['bytes'] / 1e6:.1f} MB | {cells} |")
    lines += [
        "",
        "## Limitations",
        "",
        "- Judged only on the evaluations above: data unlike their splits (other cameras, lighting, people "
        "or poses) is not measured.",
        "- Quantized files trade accuracy for size and speed: compare their figures above before shipping one.",
        "",
    ]
    path = run_dir / "model_card.md"
    runs.atomic_write_text(path, "\n".join(lines))
    return path


def _published(roles: dict) -> dict:
    from blazeforge.runtime.models import ROLES

    return {role: ROLES[role].zoo or "none" for role in roles if role in ROLES}


def _export_check(metrics: dict) -> list[str]:
    """The export's own check of each file against Keras."""
    lines = [
        f"On {metrics.get('parity_samples', '?')} samples of the dataset (its test split, else its train split), "
        "each file against Keras:",
        "",
    ]
    for precision, figures in metrics["exports"].items():
        worst = max(figures["parity"].values(), key=lambda f: f["max_abs_diff"])
        nme = f", NME 2D {100 * figures['nme_2d']:.2f}%" if "nme_2d" in figures else ""
        lines.append(f"- {precision}: max |TFLite - Keras| {worst['max_abs_diff']:.2g}{nme}")
    return lines


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"

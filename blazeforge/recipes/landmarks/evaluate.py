"""`blazeforge evaluate`: landmark accuracy (hands, face meshes, eyes) against a mean-shape
baseline, with a report.

The engine hands over the checkpoint's task and recipe (as it was trained), which pick the crops. Figures
(metrics.json): nme_2d and nme_3d (mean point error / the topology's normalizer: palm size, the
wrist to middle-finger MCP distance, for hands; the interocular distance, outer eye corners 33 and
263, for faces; 2D pixels), pck_0.2, presence_auc (the eval crops' presence or face flag against
crops away from the instance), handedness_accuracy (hands), each also by source and by skin tone;
baseline_nme_2d is the same NME for the mean training shape placed in each crop. report.html shows
the error distribution and the worst examples drawn (ground truth green, prediction red).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import require_topology
from blazeforge.errors import BlazeforgeError
from blazeforge.evaluation import metrics as M
from blazeforge.evaluation.predictors import load_predictor
from blazeforge.evaluation.report import table, worst_figure, write_page
from blazeforge.geometry.roi import crop_image, crop_to_image
from blazeforge.runs import dataset_of
from blazeforge.runtime.draw import draw_landmarks
from blazeforge.topology import Topology
from blazeforge.topology import get as get_topology

log = logging.getLogger(__name__)
BASELINE_SAMPLES = 2000


def landmarks_of(outputs: dict, task) -> np.ndarray:
    """[N, 3K]: a predictor's landmark outputs (task.landmark_outputs, batch first) flattened per
    crop, side by side."""
    return np.concatenate([np.asarray(outputs[k]).reshape(len(outputs[k]), -1) for k in task.landmark_outputs], -1)


def collect(cfg: DictConfig, dataset_dir: str, split: str, input_size: int, limit: int | None = None) -> dict:
    """Stack the eval examples of a split (crops made for `input_size`; cfg.recipe the dataset's,
    as the engine configured it)."""
    from blazeforge.recipes.landmarks.data import eval_examples
    from blazeforge.training.augment import negative_roi

    cfg = OmegaConf.merge(cfg, {"recipe": {"input_size": input_size}})
    rng = np.random.default_rng(int(cfg.seed))
    rows = {
        k: []
        for k in (
            "crop",
            "negative",
            "keypoints",
            "crop_keypoints",
            "mask",
            "roi",
            "mirrored",
            "handedness",
            "source",
            "skin_tone",
            "image",
        )
    }
    for n, ex in enumerate(eval_examples(cfg, dataset_dir, split)):
        if limit is not None and n >= limit:
            break
        h, w = ex["image"].shape[:2]
        rows["crop"].append(ex["crop"])
        rows["negative"].append(crop_image(ex["image"], negative_roi(ex["roi"], w, h, rng), input_size))
        # z from the recipe's origin (recipe.z_origin), as the targets and the model have it
        rows["keypoints"].append(to_image(ex["crop_keypoints"][None], [ex["roi"]], input_size, [ex["mirrored"]])[0])
        rows["crop_keypoints"].append(ex["crop_keypoints"])
        rows["mask"].append(ex["keypoint_mask"])
        rows["roi"].append(ex["roi"])
        rows["mirrored"].append(ex["mirrored"])
        rows["handedness"].append(ex["handedness"])
        rows["source"].append(ex["meta"]["source"])
        rows["skin_tone"].append(ex["meta"]["skin_tone"])
        rows["image"].append(ex["image"])
    if not rows["crop"]:
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {split!r} has no labelled instances")
    for k in ("crop", "negative", "keypoints", "crop_keypoints", "mask", "handedness"):
        rows[k] = np.stack(rows[k])
    return rows


def to_image(crop_landmarks: np.ndarray, rois: list, input_size: int, mirrored: list | None = None) -> np.ndarray:
    """[N, 3K] (or [N, 1, 1, 3K]) crop-pixel predictions -> [N, K, 3] image pixels through each
    sample's ROI (x mirrored back first where the crop was mirrored)."""
    pts = np.array(crop_landmarks, np.float64).reshape(len(rois), -1, 3)
    for i, flipped in enumerate(mirrored or ()):
        if flipped:
            pts[i, :, 0] = input_size - pts[i, :, 0]
    return np.stack([crop_to_image(p, roi, input_size) for p, roi in zip(pts, rois)])


def score(pred: np.ndarray, data: dict, topology: Topology) -> dict:
    """NME 2D/3D and PCK of image-space predictions [N, K, 3] against the collected truth, as
    shares of the topology's normalizer."""
    gt, mask = data["keypoints"], data["mask"].astype(float)
    norm = M.normalizer(gt, topology.normalizer)
    per_2d = M.per_sample_nme(pred[..., :2], gt[..., :2], mask[..., 0], norm)
    z_mask = mask[..., 2]
    has_z = z_mask.sum(1) > 0
    per_3d = M.per_sample_nme(pred, gt, z_mask, norm)
    return {
        "per_sample": per_2d,
        "nme_2d": float(np.nanmean(per_2d)),
        "nme_3d": float(np.nanmean(per_3d[has_z])) if has_z.any() else None,
        "pck_0.2": M.pck(pred, gt, mask[..., 0], norm, 0.2),
    }


def evaluate(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Evaluate cfg.evaluate.checkpoint (a model of `task`, configured by cfg.recipe) on
    cfg.evaluate.split; writes report.html into run_dir."""
    run_dir = Path(run_dir)
    dataset_dir = dataset_of(cfg.evaluate.dataset, cfg.evaluate.checkpoint, "evaluate")
    require_topology(dataset_dir, task.data_topology(cfg.recipe), f"task {task.name}")
    topology = get_topology(task.topology)
    predictor = load_predictor(cfg.evaluate.checkpoint)
    size = predictor.input_size
    data = collect(cfg, dataset_dir, cfg.evaluate.split, size)
    out = predictor(data["crop"])
    pred = to_image(landmarks_of(out, task), data["roi"], size, data["mirrored"])
    result = score(pred, data, topology)
    presence_auc = None
    if task.score:
        negatives = predictor(data["negative"])[task.score].ravel()
        presence = np.concatenate([out[task.score].ravel(), negatives])
        presence_auc = M.roc_auc(presence, np.r_[np.ones(len(data["crop"])), np.zeros(len(negatives))])
    known = np.isin(data["handedness"], (0.0, 1.0))
    hand_acc = (
        float(((out[task.label].ravel() > 0.5) == (data["handedness"] > 0.5))[known].mean())
        if known.any() and task.label
        else None
    )

    train = collect(cfg, dataset_dir, "train", size, limit=BASELINE_SAMPLES)
    mean_shape = train["crop_keypoints"].mean(0).reshape(1, -1)
    baseline = score(
        to_image(np.repeat(mean_shape, len(data["roi"]), 0), data["roi"], size, data["mirrored"]), data, topology
    )

    per = result["per_sample"]
    metrics = {
        "checkpoint": str(cfg.evaluate.checkpoint),
        "dataset": dataset_dir,
        "split": cfg.evaluate.split,
        "topology": topology.name,
        "normalizer": list(topology.normalizer),
        "count": int(len(per)),
        "nme_2d": result["nme_2d"],
        "nme_3d": result["nme_3d"],
        "pck_0.2": result["pck_0.2"],
        "baseline_nme_2d": baseline["nme_2d"],
        "baseline_nme_3d": baseline["nme_3d"],
        "baseline_pck_0.2": baseline["pck_0.2"],
        "presence_auc": presence_auc,
        "handedness_accuracy": hand_acc,
        "by_source": M.by_group(per, data["source"]),
        "by_skin_tone": M.by_group(per, data["skin_tone"]),
    }
    if cfg.evaluate.palm_detector:
        from blazeforge import zoo
        from blazeforge.evaluation.palm_check import palm_detection_check

        name = str(cfg.evaluate.palm_detector)
        path = zoo.tflite_path(name.split(":", 1)[1]) if name.startswith("mediapipe:") else name
        metrics["palm_detection"] = {"model": name, **palm_detection_check(data["image"], data["keypoints"], path)}
    _report(run_dir, metrics, per, baseline["per_sample"], pred, data, int(cfg.evaluate.worst), topology)
    return metrics


def _report(
    run_dir: Path,
    metrics: dict,
    per: np.ndarray,
    base: np.ndarray,
    pred: np.ndarray,
    data: dict,
    worst: int,
    topology: Topology,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for values, label in ((per, "model"), (base, "mean-shape baseline")):
        v = np.sort(values[np.isfinite(values)])
        ax.plot(v, np.arange(1, len(v) + 1) / len(v), label=f"{label} (mean {v.mean():.3f})")
    ax.set_xlabel(f"2D NME (share of the distance between points {topology.normalizer})")
    ax.set_ylabel("share of samples")
    ax.set_xlim(0, max(0.5, float(np.nanpercentile(base, 95))))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "nme_cdf.png", dpi=100)
    plt.close(fig)

    figures = []
    for rank, i in enumerate(np.argsort(-np.nan_to_num(per, nan=-1))[:worst]):
        image = cv2.cvtColor(data["image"][i], cv2.COLOR_RGB2BGR)
        radius = 2 if topology.edges else 1
        image = draw_landmarks(image, data["keypoints"][i], topology.edges, (0, 200, 0), radius=radius)
        image = draw_landmarks(image, pred[i], topology.edges, (0, 0, 255), radius=radius)
        caption = f"NME {per[i]:.3f} · {data['source'][i]} · tone {data['skin_tone'][i]}"
        figures.append(worst_figure(run_dir, rank, image, caption))
    rows = [(k, json.dumps(v)) for k, v in metrics.items() if not isinstance(v, dict)]
    groups = [
        (g, name, f"{v['nme']:.4f}", v["count"])
        for g in ("by_source", "by_skin_tone")
        for name, v in metrics[g].items()
    ]
    write_page(
        run_dir,
        f"Landmarks ({topology.name}): evaluation",
        f'{table(rows)}<h2>Error distribution</h2><img src="nme_cdf.png">'
        f"<h2>By group</h2>{table(groups, ('grouping', 'group', 'NME 2D', 'count'))}"
        f"<h2>Worst examples</h2><p>ground truth green, prediction red</p>{''.join(figures)}",
    )


def summary(task, metrics: dict) -> list[tuple[str, str]]:
    """The figures a person reads first: NME against the mean-shape baseline, PCK, presence."""
    if "nme_2d" not in metrics:
        return []
    unit = f"% of {task.normalizer}"
    rows = [
        ("NME 2D", f"{100 * metrics['nme_2d']:.1f}{unit}"),
        ("mean-shape baseline", f"{100 * metrics['baseline_nme_2d']:.1f}{unit}"),
        ("PCK@0.2", f"{metrics['pck_0.2']:.2f}"),
    ]
    if metrics.get("presence_auc") is not None:
        rows.append(("presence AUC", f"{metrics['presence_auc']:.3f}"))
    if metrics.get("handedness_accuracy") is not None:
        rows.append(("handedness accuracy", f"{metrics['handedness_accuracy']:.2f}"))
    return rows

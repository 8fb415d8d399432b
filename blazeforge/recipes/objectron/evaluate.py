"""`blazeforge evaluate` for the Objectron task: boxes in 3D, scored by 3D IoU.

Each frame of the split is seen through the letterbox of the input's aspect (as the runtime feeds the model);
the belief map's peaks and their vertex votes (`geometry.cuboid_decoding.decode`, recipe.decoder
with evaluate.min_score as its threshold, so that AP sees the whole precision-recall curve) give
each box's 8 projected vertices, EPnP (`geometry.cuboid.lift_box`) lifts them to a box up to
scale, and the labelled ground plane (what an AR session's plane gives a phone) fixes it by
evaluate.plane_rule: upright (`fit_upright`: the box standing upright on the plane, fitted to the 8
projections from EPnP's box) or scale (`scale_to_plane`: EPnP's box as it is, scaled to put its 4
lowest vertices on the plane; its AP is reported beside the other rule's either way). Scored
against the labelled boxes:
- AP at 3D IoU 0.5 (and 0.25), predictions matched greedily, strongest first
  (`evaluation.cuboids`);
- per labelled box, its best-overlapping prediction among those at the decoder's own threshold
  (recipe.decoder.heatmap_threshold): the mean of that 3D IoU (0 where none overlaps), the mean 2D
  projection error of the 8 vertices (pixels and % of the frame's short side), the azimuth and
  elevation errors (degrees);
- the baseline: at each predicted centre, a box of the training split's mean size standing upright
  on the plane and facing the camera, with the prediction's score.

Writes metrics.json (those figures, overall and per category), report.html (the figures, then the
evaluate.worst frames of lowest mean best 3D IoU with their boxes drawn) and predictions.jsonl, one
line per frame: index, subject_id, camera {fx, fy, cx, cy}, plane {point, normal}, gt [N, 9, 3] metres and
gt_pixels [N, 9, 2], pred [P, 9, 3] metres (by the plane rule), pred_epnp [P, 9, 3] (EPnP's box up
to scale, its centre 1 unit in front), pred_pixels [P, 9, 2], scores [P], baseline [P, 9, 3];
keypoints in `geometry.cuboid`'s layout, camera space x right, y down, z forward.
"""

from __future__ import annotations

import heapq
import html
import json
import math
from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import require_topology
from blazeforge.errors import BlazeforgeError
from blazeforge.evaluation.cuboids import ap_at_iou, projection_error, viewpoint_errors
from blazeforge.evaluation.predictors import load_predictor
from blazeforge.evaluation.report import table, worst_figure, write_page
from blazeforge.geometry.cuboid import box_keypoints, fit_upright, iou_3d, scale_to_plane
from blazeforge.geometry.cuboid_decoding import DecoderConfig, boxes_in_image
from blazeforge.recipes.objectron.data import eval_frames
from blazeforge.runs import dataset_of
from blazeforge.runtime.draw import draw_landmarks
from blazeforge.topology.cuboid import EDGES

PLANE_RULES = {
    "upright": "upright on the labelled ground plane, fitted to the 8 projected vertices",
    "scale": "EPnP's box scaled to put its 4 lowest vertices on the labelled ground plane",
}
"""evaluate.plane_rule: how the labelled ground plane fixes a box EPnP lifted up to scale."""


def decoder_config(recipe, threshold: float | None = None) -> DecoderConfig:
    d = recipe.decoder
    return DecoderConfig(
        heatmap_threshold=float(d.heatmap_threshold if threshold is None else threshold),
        local_max_distance=int(d.local_max_distance),
        voting_radius=int(d.voting_radius),
        voting_allowance=float(d.voting_allowance),
        voting_threshold=float(d.voting_threshold),
    )


def standing_box(centre: np.ndarray, plane: tuple, size: np.ndarray) -> np.ndarray:
    """[9, 3] a box of edge lengths `size` [3] upright on the plane (point, upward normal), its
    front towards the camera, centred over `centre` [3]'s foot on the plane."""
    point, up = np.asarray(plane[0], np.float64), np.asarray(plane[1], np.float64)
    up = up / np.linalg.norm(up)
    foot = centre - np.dot(centre - point, up) * up
    front = -foot - np.dot(-foot, up) * up
    front /= max(np.linalg.norm(front), 1e-9)
    rotation = np.stack([np.cross(up, front), up, front], axis=1)
    return box_keypoints(rotation, foot + up * size[1] / 2, size)


def _mean_size(dataset_dir) -> np.ndarray:
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load

    scales = [ex["cuboid_scale"] for ex in tfds.as_numpy(load(dataset_dir, "train", decode_images=False))]
    scales = np.concatenate([s for s in scales if len(s)])
    return scales[np.isfinite(scales).all(1)].mean(0)


def best_ious(frame: dict, confident: float) -> list[tuple[float, int | None]]:
    """Per labelled box of a frame, (its best 3D IoU with a prediction scoring `confident` or
    more, that prediction's index or None)."""
    out = []
    for gt in frame["gt"]:
        best, pick = 0.0, None
        for i, (pred, score) in enumerate(zip(frame["pred"], frame["scores"])):
            iou = iou_3d(pred, gt) if score >= confident else 0.0
            if iou > best:
                best, pick = iou, i
        out.append((best, pick))
    return out


def _scores(frames: list[dict], confident: float) -> dict:
    """The figures of the module docstring over frames with gt, pred, scores, baseline, pixels."""
    ious, errors, errors_share, azimuth, elevation = [], [], [], [], []
    for f in frames:
        for (best, pick), gt, gt_px in zip(f["best"], f["gt"], f["gt_pixels"]):
            ious.append(best)
            if pick is not None:
                errors.append(projection_error(f["pred_pixels"][pick], gt_px))
                errors_share.append(errors[-1] / f["short_side"])
                a, e = viewpoint_errors(f["pred"][pick], gt)
                azimuth.append(a)
                elevation.append(e)
    mean = lambda v: float(np.mean(v)) if v else float("nan")  # noqa: E731
    baseline = [{"pred": f["baseline"], "scores": f["scores"], "gt": f["gt"]} for f in frames]
    scaled = [{"pred": f["scaled"], "scores": f["scores"], "gt": f["gt"]} for f in frames]
    return {
        "ap50_3d_iou": ap_at_iou(frames, 0.5),
        "ap25_3d_iou": ap_at_iou(frames, 0.25),
        "scaled_ap50_3d_iou": ap_at_iou(scaled, 0.5),
        "baseline_ap50_3d_iou": ap_at_iou(baseline, 0.5),
        "baseline_ap25_3d_iou": ap_at_iou(baseline, 0.25),
        "mean_best_iou": mean(ious),
        "boxes": len(ious),
        "found": int(sum(i > 0 for i in ious)),
        "projection_error_px": mean(errors),
        "projection_error_share": mean(errors_share),
        "azimuth_error_deg": mean(azimuth),
        "elevation_error_deg": mean(elevation),
    }


def evaluate(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Evaluate cfg.evaluate.checkpoint on cfg.evaluate.split; writes metrics.json's figures and predictions.jsonl."""
    run_dir = Path(run_dir)
    dataset_dir = dataset_of(cfg.evaluate.dataset, cfg.evaluate.checkpoint, "evaluate")
    require_topology(dataset_dir, task.topology, f"task {task.name}")
    predictor = load_predictor(cfg.evaluate.checkpoint)
    cfg = OmegaConf.merge(cfg, {"recipe": {"input_size": list(predictor.input_shape)}})
    crop = predictor.input_shape[::-1]  # (width, height)
    config = decoder_config(cfg.recipe, float(cfg.evaluate.min_score))
    mean_size = _mean_size(dataset_dir)
    rule = str(cfg.evaluate.plane_rule)
    if rule not in PLANE_RULES:
        raise BlazeforgeError("evaluate.plane_rule", f"expected {' | '.join(PLANE_RULES)}, got {rule!r}")
    upright = rule == "upright"
    confident = float(cfg.recipe.decoder.heatmap_threshold)
    frames, worst = [], []  # worst: a heap of the evaluate.worst frames of lowest mean best IoU
    with (run_dir / "predictions.jsonl").open("w") as out:
        for frame in eval_frames(cfg, dataset_dir, cfg.evaluate.split):
            outputs = {k: v[0] for k, v in predictor(frame["view"][None]).items()}
            found = boxes_in_image(
                outputs["heatmap"][..., 0], outputs["offsets"], frame["roi"], crop, frame["camera"], config
            )
            for b in found:
                b["scaled"] = scale_to_plane(b["box"], *frame["plane"])
                b["epnp"], b["box"] = b["box"], b["scaled"]
                if upright:
                    b["box"] = fit_upright(b["epnp"], b["pixels"][1:], frame["camera"], *frame["plane"])
            found = [b for b in found if np.isfinite(b["box"]).all() and np.isfinite(b["scaled"]).all()]
            labelled = np.isfinite(frame["keypoints_camera"]).all(axis=(1, 2))
            record = {
                "index": frame["index"],
                "subject_id": frame["meta"]["subject_id"],
                "category": frame["meta"]["category"],
                "camera": frame["camera"],
                "plane": {"point": frame["plane"][0].tolist(), "normal": frame["plane"][1].tolist()},
                "gt": frame["keypoints_camera"][labelled].astype(np.float64),
                "gt_pixels": frame["keypoints"][labelled][..., :2].astype(np.float64),
                "pred": [b["box"] for b in found],
                "pred_epnp": [b["epnp"] for b in found],
                "pred_pixels": [b["pixels"] for b in found],
                "scores": [b["score"] for b in found],
                "baseline": [standing_box(b["box"][0], frame["plane"], mean_size) for b in found],
            }
            out.write(json.dumps(_plain(record)) + "\n")
            best = best_ious(record, confident)
            short_side = float(min(frame["image"].shape[:2]))
            frames.append({**record, "best": best, "short_side": short_side, "scaled": [b["scaled"] for b in found]})
            if best:
                key = (-float(np.mean([b for b, _ in best])), len(frames))
                heapq.heappush(worst, (key, frame["image"], len(frames) - 1))
                if len(worst) > int(cfg.evaluate.worst):
                    heapq.heappop(worst)
    if not frames:
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {cfg.evaluate.split!r} is empty")
    categories = sorted({f["category"] for f in frames})
    metrics = {
        "split": str(cfg.evaluate.split),
        "frames": len(frames),
        "plane_rule": PLANE_RULES[rule],
        "mean_size_m": [round(float(v), 4) for v in mean_size],
        **_scores(frames, confident),
        "per_category": {c: _scores([f for f in frames if f["category"] == c], confident) for c in categories},
        "predictions": str(run_dir / "predictions.jsonl"),
        "dataset": str(dataset_dir),
        "checkpoint": str(cfg.evaluate.checkpoint),
    }
    _report(run_dir, metrics, [(frames[i], image) for _, image, i in sorted(worst, reverse=True)], confident)
    return metrics


def _report(run_dir: Path, metrics: dict, worst: list, confident: float) -> None:
    """report.html: the summary's figures, the per-category table and the worst frames drawn
    (labelled boxes green, confident predictions red)."""
    figures = []
    for rank, (f, image) in enumerate(worst):
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        for points in f["gt_pixels"]:
            image = draw_landmarks(image, np.asarray(points), EDGES, (0, 200, 0), radius=2)
        for points, score in zip(f["pred_pixels"], f["scores"]):
            if score >= confident:
                image = draw_landmarks(image, np.asarray(points), EDGES, (0, 0, 255), radius=2)
        ious = ", ".join(f"{b:.2f}" for b, _ in f["best"])
        figures.append(worst_figure(run_dir, rank, image, f"frame {f['index']} · 3D IoU {ious} · {f['category']}"))
    categories = [
        (name, f"{m['ap50_3d_iou']:.3f}", f"{m['baseline_ap50_3d_iou']:.3f}", f"{m['mean_best_iou']:.2f}",
         f"{m['projection_error_px']:.1f}", m["boxes"])
        for name, m in metrics["per_category"].items()
    ]  # fmt: skip
    header = ("category", "AP@0.5 3D IoU", "baseline", "mean best 3D IoU", "2D projection error (px)", "boxes")
    write_page(
        run_dir,
        "Objectron: evaluation",
        f"<p>{metrics['frames']} frames of split {html.escape(metrics['split'])} in "
        f"{html.escape(metrics['dataset'])}; checkpoint {html.escape(metrics['checkpoint'])}</p>"
        f"{table(summary(metrics))}<h2>By category</h2>{table(categories, header)}"
        f"<h2>Worst frames</h2><p>labels green, predictions scoring {confident:g} or more red</p>{''.join(figures)}",
    )


def _plain(record: dict) -> dict:
    """JSON-ready: arrays as nested lists rounded to 1 micrometre / 1/1000 pixel."""

    def plain(v):
        if isinstance(v, np.ndarray):
            return np.round(v.astype(np.float64), 6).tolist()
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, np.floating | float):
            return round(float(v), 6)
        if isinstance(v, np.integer):
            return int(v)
        return v

    return plain(record)


def summary(metrics: dict) -> list[tuple[str, str]]:
    """The figures a person reads first."""
    if "ap50_3d_iou" not in metrics:
        return []

    def share(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{100 * value:.1f}% of the frame's short side"

    scaled, rule = "", metrics.get("plane_rule", "")
    if rule != PLANE_RULES["scale"] and "scaled_ap50_3d_iou" in metrics:
        scaled = f" (EPnP's box scaled to the plane alone: AP@0.5 {metrics['scaled_ap50_3d_iou']:.3f})"
    return [
        ("AP@0.5 3D IoU", f"{metrics['ap50_3d_iou']:.3f} (mean-size baseline {metrics['baseline_ap50_3d_iou']:.3f})"),
        ("AP@0.25 3D IoU", f"{metrics['ap25_3d_iou']:.3f} (baseline {metrics['baseline_ap25_3d_iou']:.3f})"),
        ("boxes found", f"{metrics['found']} of {metrics['boxes']}, mean best 3D IoU {metrics['mean_best_iou']:.2f}"),
        ("2D projection error", f"{metrics['projection_error_px']:.1f} px, {share(metrics['projection_error_share'])}"),
        (
            "viewpoint error",
            f"azimuth {metrics['azimuth_error_deg']:.1f} deg, elevation {metrics['elevation_error_deg']:.1f} deg",
        ),
        ("plane rule", rule + scaled),
    ]

"""Fairness of a face-landmark model: error by group against human annotator variance.

`blazeforge evaluate fairness dataset=RUN_DIR checkpoint=mediapipe:face_landmark group_by=region`

The published protocol (MediaPipe FaceMesh model card): NME in % of the interocular distance
(IOD) on a test set balanced over groups (17 UN geographic subregions), judged against the
variance between human annotators (2.56% IOD); the published model ranged 2.44%-3.5%. A model
is unfair where the spread of its group errors (max minus min) exceeds the human variance: the
one measured on the split's doubly labelled faces where it has some (two meshes of one face in an
image; NME of one annotator against the other), else evaluate.human_variance: a figure, or an
`annotate agree` run directory whose measured agreement it reads.

Each labelled face of the split is cropped as MediaPipe's tracking crops it (`geometry.roi.face_roi`
of the labels), the model's 468 points are projected back and compared with the labelled ones.
Writes metrics.json (`groups`: NME, 95% bootstrap interval and count per group; `human_variance`,
`spread`, `verdict`), report.html (the per-group figure with intervals, the error distribution, the
worst faces drawn; numbers from metrics.json) and model_card.md (a fairness section to paste).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError

META_GROUPS = ("region", "skin_tone", "source", "subject_id")


def nme_iod(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, iod: tuple[int, int]) -> float:
    """Mean 2D distance over labelled points, in % of the labelled IOD; pred, gt [K, >=2] pixels."""
    scale = np.linalg.norm(gt[iod[0], :2] - gt[iod[1], :2])
    d = np.linalg.norm(pred[:, :2] - gt[:, :2], axis=1)[mask]
    return float(100 * d.mean() / scale) if len(d) and scale > 0 else float("nan")


def bootstrap_interval(values: np.ndarray, rounds: int, rng: np.random.Generator, level: float = 0.95):
    """(low, high) percentile bootstrap interval of the mean."""
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    means = rng.choice(values, (rounds, len(values)), replace=True).mean(1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def group_report(
    errors: np.ndarray, groups: list[str], human_variance: float, rounds: int = 1000, seed: int = 0
) -> dict:
    """Per group: NME (% IOD), its 95% bootstrap interval and count; the spread (max minus min of
    the group NMEs) against human variance; per group, how far it is from the best group."""
    rng = np.random.default_rng(seed)
    errors = np.asarray(errors, np.float64)
    out = {}
    for g in sorted(set(groups)):
        values = errors[[i for i, x in enumerate(groups) if x == g]]
        lo, hi = bootstrap_interval(values, rounds, rng)
        out[g] = {
            "nme": round(float(values.mean()), 3),
            "interval": [round(lo, 3), round(hi, 3)],
            "count": int(len(values)),
        }
    best = min(v["nme"] for v in out.values())
    for v in out.values():
        v["above_best"] = round(v["nme"] - best, 3)
        v["verdict"] = (
            "within human variance of the best group"
            if v["above_best"] <= human_variance
            else "worse than the best group by more than human variance"
        )
    spread = round(max(v["nme"] for v in out.values()) - best, 3)
    verdict = "fair" if spread <= human_variance else "unfair"
    return {
        "groups": out,
        "spread": spread,
        "human_variance": human_variance,
        "verdict": verdict,
        "nme": round(float(errors.mean()), 3),
        "count": int(len(errors)),
    }


DOUBLE_LABEL_IOU = 0.7  # two labelled meshes in one image overlapping this much: one face, two annotators


def _bounds(points: np.ndarray) -> np.ndarray:
    """[4] x0, y0, x1, y1 of points [K, >=2]."""
    return np.r_[points[:, :2].min(0), points[:, :2].max(0)]


def _faces(dataset_dir: str, split: str, group_by: str):
    """(image, keypoints [468, 3], mask [468], group, other labellings) for every face of a
    face_mesh dataset split. Meshes of one image whose bounds overlap by DOUBLE_LABEL_IOU are one
    face labelled twice (doubly labelled data): the first is the face, the rest its other
    labellings [(keypoints, mask)]."""
    from blazeforge.datasets.builder import load, require_topology
    from blazeforge.geometry.detections import iou

    require_topology(dataset_dir, "face_mesh", "evaluate fairness")
    for ex in load(dataset_dir, split).as_numpy_iterator():
        group = ex[group_by].decode() or "(none)"
        faces = []
        for keypoints, mask in zip(ex["keypoints"], ex["keypoint_mask"]):
            labelled = mask[:, :2].all(1)
            box = _bounds(keypoints[labelled])
            same = next((f for f in faces if iou(_bounds(f[0][f[1]]), box[None])[0] >= DOUBLE_LABEL_IOU), None)
            if same is None:
                faces.append((keypoints, labelled, []))
            else:
                same[2].append((keypoints, labelled))
        for keypoints, labelled, others in faces:
            yield ex["image"], keypoints, labelled, group, others


def human_variance(pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], iod: tuple[int, int]) -> float:
    """The mean NME (% IOD) between two annotators' meshes of the same faces: pairs of (first
    annotator's points [K, >=2], second's, mask of the points both labelled)."""
    return float(np.mean([nme_iod(second, first, mask, iod) for first, second, mask in pairs]))


def evaluate_fairness(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.geometry.roi import face_roi
    from blazeforge.topology.face_mesh import OUTER_EYE_CORNERS

    e = cfg.evaluate
    if e.group_by not in META_GROUPS:
        raise BlazeforgeError("evaluate.group_by", f"expected one of {', '.join(META_GROUPS)}, got {e.group_by!r}")
    if not e.dataset:
        raise BlazeforgeError("evaluate.dataset", "expected a face_mesh datasets run directory (data=face_mesh)")
    from blazeforge.evaluation.predictors import landmark_model

    model = landmark_model(str(e.checkpoint or "mediapipe:face_landmark"), "face_mesh")
    errors, groups, worst, pairs = [], [], [], []
    for image, keypoints, mask, group, others in _faces(str(e.dataset), str(e.split), str(e.group_by)):
        pred = model(image, face_roi(keypoints))
        errors.append(nme_iod(pred, keypoints, mask, OUTER_EYE_CORNERS))
        groups.append(group)
        worst.append((errors[-1], group, image, keypoints, pred))
        pairs += [(keypoints, other, mask & other_mask) for other, other_mask in others]
    if not errors:
        raise BlazeforgeError(f"dataset={e.dataset}", f"no labelled faces in split {e.split!r}")
    from blazeforge.annotation import agreement

    variance, source = (
        (round(human_variance(pairs, OUTER_EYE_CORNERS), 3), f"measured on {len(pairs)} doubly labelled faces")
        if pairs
        else agreement.human_variance(e.human_variance, "face_mesh")
    )
    report = group_report(np.array(errors), groups, variance, int(e.bootstrap), int(cfg.seed))
    report.update(
        {
            "group_by": str(e.group_by),
            "checkpoint": str(e.checkpoint or "mediapipe:face_landmark"),
            "dataset": str(e.dataset),
            "split": str(e.split),
            "human_variance_source": source,
        }
    )
    worst = sorted(worst, key=lambda w: -w[0])[: int(e.worst)]
    run_dir = Path(run_dir)
    (run_dir / "report.html").write_text(_html(report, np.array(errors), groups, worst))
    (run_dir / "model_card.md").write_text(model_card(report))
    return report


def model_card(report: dict) -> str:
    """The fairness section of a model card, in Markdown."""
    rows = "\n".join(
        f"| {g} | {v['nme']:.2f} | {v['interval'][0]:.2f}-{v['interval'][1]:.2f} | {v['count']} |"
        for g, v in report["groups"].items()
    )
    return (
        f"## Fairness\n\nNME in % of the interocular distance on `{report['dataset']}` ({report['split']} split), "
        f"by {report['group_by']}, for `{report['checkpoint']}`:\n\n"
        f"| {report['group_by']} | NME (% IOD) | 95% interval | faces |\n|---|---|---|---|\n{rows}\n\n"
        f"Spread (max - min): {report['spread']:.2f}% IOD against a human annotator variance of "
        f"{report['human_variance']:.2f}% IOD ({report['human_variance_source']}): **{report['verdict']}** "
        f"(a model is unfair where the spread exceeds human variance).\n"
    )


def _figure(report: dict, errors: np.ndarray, groups: list[str]) -> str:
    """The per-group NME with intervals and the error distributions, as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(report["groups"], key=lambda g: (not g.isdigit(), int(g) if g.isdigit() else 0, g))
    nme = [report["groups"][g]["nme"] for g in names]
    lo = [n - report["groups"][g]["interval"][0] for g, n in zip(names, nme)]
    hi = [report["groups"][g]["interval"][1] - n for g, n in zip(names, nme)]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.bar(range(len(names)), nme, yerr=[lo, hi], capsize=4, color="#4c78a8", tick_label=names)
    a.axhline(min(nme) + report["human_variance"], color="#e45756", ls="--", label="best + human variance")
    a.set_ylabel("NME (% IOD)")
    a.set_title(f"by {report['group_by']}")
    a.tick_params(axis="x", rotation=30)
    a.legend()
    for g in names:
        b.hist(errors[[i for i, x in enumerate(groups) if x == g]], bins=20, alpha=0.5, label=g)
    b.set_xlabel("NME (% IOD)")
    b.set_title("error distribution")
    b.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _drawn(image: np.ndarray, gt: np.ndarray, pred: np.ndarray) -> str:
    import cv2

    from blazeforge.runtime.draw import draw_landmarks

    out = draw_landmarks(image, gt, (), (0, 200, 0), radius=1)
    out = draw_landmarks(out, pred, (), (255, 0, 0), radius=1)
    ok, png = cv2.imencode(".png", cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    return base64.b64encode(png.tobytes()).decode()


def _html(report: dict, errors: np.ndarray, groups: list[str], worst: list) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(g)}</td><td class=nme>{v['nme']:.3f}</td>"
        f"<td>{v['interval'][0]:.3f} - {v['interval'][1]:.3f}</td><td>{v['count']}</td>"
        f"<td>{html.escape(v['verdict'])}</td></tr>"
        for g, v in report["groups"].items()
    )
    faces = "".join(
        f"<figure><img src='data:image/png;base64,{_drawn(img, gt, pred)}'><figcaption>"
        f"{html.escape(g)}: {err:.2f}% IOD</figcaption></figure>"
        for err, g, img, gt, pred in worst
    )
    return f"""<!doctype html><html><head><meta charset=utf-8><title>Fairness report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}
figure{{display:inline-block;margin:4px}}figure img{{max-width:256px}}img.plot{{max-width:100%}}</style></head><body>
<h1>Fairness: {html.escape(report["checkpoint"])}</h1>
<p id=summary>NME {report["nme"]:.3f}% IOD over {report["count"]} faces; spread <b id=spread>{report["spread"]:.3f}</b>%
against human variance {report["human_variance"]:.2f}% ({html.escape(report["human_variance_source"])}):
<b id=verdict>{report["verdict"]}</b>.</p>
<table id=groups><tr><th>{html.escape(report["group_by"])}</th><th>NME (% IOD)</th><th>95% interval</th><th>faces</th>
<th>verdict</th></tr>{rows}</table>
<img class=plot src='data:image/png;base64,{_figure(report, errors, groups)}' alt='NME by group'>
<h2>Worst faces (green: labels, red: model)</h2>{faces}
<script type=application/json id=metrics>{json.dumps(report)}</script></body></html>"""

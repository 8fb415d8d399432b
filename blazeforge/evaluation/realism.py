"""Do models trained on real photos take our renders for real? `evaluate realism renders=RUN_DIR`.

MediaPipe's published models run through our runtime on every frame of a render run, on the whole
image as MediaPipe's solutions run on static images: the detector (palm for hands, face for faces,
pose for bodies), its detection-to-ROI rule, the landmark model and its presence threshold. A subject counts as found
when the box of a landmark instance's points overlaps the box of the labelled ones by IoU >=
`MIN_IOU` (for bodies, of the points inside the image only); the found ones are scored by NME (mean
2D distance over those points, in % of the normalizer: palm size, wrist to middle MCP, for hands;
the interocular distance for faces; torso size, shoulder centre to hip centre, for bodies), per
keypoint (its mean error and its mean offset along the subject's own axes: +y from the wrist to the
middle MCP for hands, from the mouth to the eyes for faces, from the hips to the shoulders for
bodies; +x to the image's right of that axis) and per skin tone (Monk 1..10). Where the renders
carry camera-space labels, the NME also in units of the subject's size unforeshortened
(`nme_true_size`: the palm's or torso's length in space at its depth; the drawn length collapses
when the subject turns it towards the camera, and errors in its units explode).

Writes metrics.json and report.html (the figures, then the worst renders drawn: green our labels,
red the model's).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig

from blazeforge import topology
from blazeforge.console import progress
from blazeforge.errors import BlazeforgeError
from blazeforge.topology import pose

MIN_IOU = 0.3


def _pair(i: int, j: int):
    return lambda points: (points[i], points[j])


def _torso(points: np.ndarray):
    hips = points[[pose.LEFT_HIP, pose.RIGHT_HIP]].mean(0)
    return hips, points[[pose.LEFT_SHOULDER, pose.RIGHT_SHOULDER]].mean(0)


@dataclass(frozen=True)
class Pipeline:
    """How one scene is checked: MediaPipe's detector and landmark roles, the topology (its unit and
    the unit's length: `Topology.size`) and how many of its points are compared, the subject's up
    (points [K, D] -> (from, to), [D] each; for bodies also the unit's ends). in_frame: compare only
    the labelled points inside the image (bodies: framing cuts them off)."""

    detector: str
    landmarks: str
    topology: str
    count: int
    axis: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    in_frame: bool = False

    @property
    def unit(self) -> str:
        return topology.get(self.topology).unit

    def length(self, points: np.ndarray) -> float:
        """The unit's length in pixels for labelled points [K, >=2]."""
        return topology.get(self.topology).size(points)

    def true_length(self, camera: np.ndarray, focal: float) -> float:
        """The unit's length in pixels had it faced the camera: its length in space (labelled camera
        points [K, 3], metres) x `focal` (pixels) / its depth. The drawn length shrinks towards
        nothing where the subject turns the unit towards the camera (a torso bent towards it, a palm
        seen edge-on), and errors in its units grow without bound there; this one does not."""
        camera = np.asarray(camera, np.float64)
        topo = topology.get(self.topology)
        if topo.scale is None:
            i, j = topo.normalizer
            a, b = camera[i], camera[j]
        else:
            a, b = self.axis(camera)
        return float(np.linalg.norm(b - a) * focal / ((a[2] + b[2]) / 2))


PIPELINES = {
    "hands": Pipeline("palm_detector", "hand_landmarks", "hand", 21, _pair(0, 9)),
    "faces": Pipeline("face_detector", "face_mesh", "face_mesh", 468, _pair(13, 168)),
    "bodies": Pipeline("pose_detector", "pose_landmarks", "pose", 33, _torso, in_frame=True),
}


def read_renders(renders: str | Path) -> tuple[str, list[tuple[Path, dict]]]:
    """(scene name, [(frame path, label record)]) of a render run directory, in shard and frame order."""
    root = Path(renders)
    shards = sorted(root.glob("shard-*/labels.jsonl"))
    if not shards:
        raise BlazeforgeError(renders, "expected a render run directory (shard-*/labels.jsonl)")
    scene = None
    frames = []
    for labels in shards:
        manifest = labels.with_name("manifest.json")
        config = root / "config.yaml"
        if manifest.is_file():
            scene = json.loads(manifest.read_text())["scene"]["name"]
        elif config.is_file():
            from omegaconf import OmegaConf

            scene = str(OmegaConf.load(config).scene.name)
        for line in labels.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                frames.append((labels.parent / record["image"], record))
    if scene not in PIPELINES:
        raise BlazeforgeError(renders, f"scene {scene!r} has no realism check; expected one of {', '.join(PIPELINES)}")
    return scene, frames


def _box(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(pred: np.ndarray, label: np.ndarray, scale: float, up: np.ndarray, keep: np.ndarray | None = None) -> dict:
    """Errors of predicted points pred [K, >=2] against labelled ones label [K, >=2] (pixels): NME
    (% of `scale` pixels, over the points `keep` [K] bool, all by default), per-point errors [K] and
    offsets [K, 2] (% along the subject's axes: y along `up` [2], x to its right; NaN where not kept)."""
    keep = np.ones(len(label), bool) if keep is None else np.asarray(keep, bool)
    delta = (pred[:, :2] - label[:, :2]) / scale * 100
    up = up / np.linalg.norm(up)
    right = np.array([-up[1], up[0]])  # image y points down: this is the right of `up` on screen
    offsets = np.stack([delta @ right, delta @ up], 1)
    errors = np.linalg.norm(delta, axis=1)
    offsets[~keep], errors = np.nan, np.where(keep, errors, np.nan)
    return {"nme": float(np.nanmean(errors)), "errors": errors, "offsets": offsets}


class Referee:
    """MediaPipe's published detector and landmark model of a scene (PIPELINES) through our runtime:
    called on an RGB image [H, W, 3] uint8 and the labelled points [K, >=2] (pixels), it returns the
    landmark instance whose points' box overlaps the labelled box by IoU >= MIN_IOU (the best one;
    of the points inside the image where the scene says so) as points [count, 2], or None."""

    def __init__(self, scene: str):
        from blazeforge.runtime.still import StillImage

        self.check = PIPELINES[scene]
        self.still = StillImage(self.check.detector, self.check.landmarks)
        self.models = self.still.models

    def keep(self, label: np.ndarray, width: int, height: int) -> np.ndarray:
        """[K] the labelled points compared: those inside the image where the scene says so, else all."""
        keep = np.ones(len(label), bool)
        if self.check.in_frame:
            keep = (label[:, 0] >= 0) & (label[:, 0] < width) & (label[:, 1] >= 0) & (label[:, 1] < height)
        return keep

    def __call__(self, rgb: np.ndarray, label: np.ndarray) -> np.ndarray | None:
        count = self.check.count
        label = np.asarray(label)[:count]
        keep = self.keep(label, rgb.shape[1], rgb.shape[0])
        instances = self.still(rgb)
        box = _box(label[keep])
        overlaps = [_iou(_box(i.landmarks[:count][keep]), box) for i in instances]  # the same points
        if not instances or max(overlaps) < MIN_IOU:
            return None
        return instances[int(np.argmax(overlaps))].landmarks[:count, :2]


def evaluate_realism(cfg: DictConfig, run_dir: Path) -> dict:
    """The `evaluate realism` report of cfg.evaluate.renders (see the module docstring)."""
    if not cfg.evaluate.renders:
        raise BlazeforgeError("evaluate.renders", "expected a render run directory: evaluate realism renders=RUN_DIR")
    scene, frames = read_renders(cfg.evaluate.renders)
    referee = Referee(scene)
    check = referee.check
    records = []
    with progress("realism", len(frames), "renders") as advance:
        for path, record in frames:
            image = cv2.imread(str(path))
            if image is None:
                raise BlazeforgeError(path, "not a readable image")
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            label = np.asarray(record["keypoints"], np.float64)[0][: check.count]
            entry = {"path": path, "label": label, "tone": record.get("meta", {}).get("skin_tone")}
            pred = referee(rgb, label)
            if pred is not None:
                entry["pred"] = pred
                start, end = check.axis(label)
                keep = referee.keep(label, rgb.shape[1], rgb.shape[0])
                entry |= compare(pred, label, check.length(label), (end - start)[:2], keep)
                if record.get("keypoints_camera") and record.get("camera"):
                    camera = np.asarray(record["keypoints_camera"], np.float64)[0][: check.count]
                    true = check.length(label) / check.true_length(camera, float(record["camera"]["fx"]))
                    entry["nme_true_size"] = entry["nme"] * true
            records.append(entry)
            advance(1)
    report = summarize(records, scene, check.unit, topology.get(check.topology).names[: check.count])
    report["render_dir"] = str(Path(cfg.evaluate.renders).resolve())
    report["models"] = {role: f.path.name for role, f in referee.models.items()}
    worst = sorted((r for r in records if "nme" in r), key=lambda r: -r["nme"])[: int(cfg.evaluate.worst)]
    missed = [r for r in records if "nme" not in r][: int(cfg.evaluate.worst)]
    (Path(run_dir) / "report.html").write_text(_html(report, worst, missed))
    return report


def summarize(records: list[dict], scene: str, unit: str, names: tuple[str, ...]) -> dict:
    """metrics.json's figures of per-render records (found ones carry nme, errors, offsets)."""
    found = [r for r in records if "nme" in r]
    out = {
        "report": "realism",
        "scene": scene,
        "unit": f"% {unit}",
        "renders": len(records),
        "found": len(found),
        "found_share": round(len(found) / max(len(records), 1), 4),
        "nme": round(float(np.mean([r["nme"] for r in found])), 2) if found else None,
        "median_nme": round(float(np.median([r["nme"] for r in found])), 2) if found else None,
    }
    if found and all("nme_true_size" in r for r in found):  # in units of the subject's size unforeshortened
        out["nme_true_size"] = round(float(np.mean([r["nme_true_size"] for r in found])), 2)
        out["median_nme_true_size"] = round(float(np.median([r["nme_true_size"] for r in found])), 2)
    if found:
        errors = np.nanmean([r["errors"] for r in found], 0)  # NaN: a point no found render kept
        offsets = np.nanmean([r["offsets"] for r in found], 0)
        out["keypoints"] = [  # lists, so that metrics.json keeps the topology's order
            {"name": name, "error": round(float(e), 2), "offset": [round(float(v), 2) for v in o]}
            for name, e, o in zip(names, errors, offsets)
        ]
    tones = sorted({int(r["tone"]) for r in records if r["tone"] is not None})  # Monk 1..10
    records = [{**r, "tone": None if r["tone"] is None else int(r["tone"])} for r in records]
    found = [r for r in records if "nme" in r]
    out["skin_tones"] = [
        {
            "tone": f"Monk {t}",
            "renders": sum(r["tone"] == t for r in records),
            "found_share": round(float(np.mean([("nme" in r) for r in records if r["tone"] == t])), 4),
            "nme": round(float(np.mean(v)), 2) if (v := [r["nme"] for r in found if r["tone"] == t]) else None,
        }
        for t in tones
    ]
    return out


def summary_rows(metrics: dict) -> list[tuple[str, str]]:
    """The terminal report's rows."""
    rows = [
        ("found", f"{metrics['found']} of {metrics['renders']} ({100 * metrics['found_share']:.0f}%)"),
        ("NME", f"{_fixed(metrics['nme'])}{metrics['unit']} (median {_fixed(metrics['median_nme'])})"),
    ]
    if "nme_true_size" in metrics:
        true = f"{_fixed(metrics['nme_true_size'])}{metrics['unit']} (median {_fixed(metrics['median_nme_true_size'])})"
        rows.append(("NME, true size", f"{true}: the unit unforeshortened"))
    rows.append(("models", ", ".join(metrics["models"].values())))
    return rows


def _fixed(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _drawn(path: Path, label: np.ndarray, pred: np.ndarray | None) -> str:
    from blazeforge.runtime.draw import draw_landmarks

    image = cv2.imread(str(path))
    image = draw_landmarks(image, label, (), (0, 200, 0), radius=1)
    if pred is not None:
        image = draw_landmarks(image, pred, (), (0, 0, 255), radius=1)
    ok, png = cv2.imencode(".png", image)
    return base64.b64encode(png.tobytes()).decode()


def _html(report: dict, worst: list[dict], missed: list[dict]) -> str:
    unit = html.escape(report["unit"])
    tones = "".join(
        f"<tr><td>{html.escape(v['tone'])}</td><td>{v['renders']}</td><td>{100 * v['found_share']:.0f}%</td>"
        f"<td>{_fixed(v['nme'])}</td></tr>"
        for v in report["skin_tones"]
    )
    points = "".join(
        f"<tr><td>{html.escape(v['name'])}</td><td>{v['error']:.1f}</td>"
        f"<td>{v['offset'][0]:+.1f}</td><td>{v['offset'][1]:+.1f}</td></tr>"
        for v in report.get("keypoints", [])
    )

    def figures(items, caption):
        return "".join(
            f"<figure><img src='data:image/png;base64,{_drawn(r['path'], r['label'], r.get('pred'))}'>"
            f"<figcaption>{html.escape(str(r['path']))}: {caption(r)}</figcaption></figure>"
            for r in items
        )

    nme = f"{_fixed(report['nme'])}{unit}"
    true_size = ""
    if "nme_true_size" in report:
        true_size = (
            f"; in units of the subject's {unit[2:]} unforeshortened (its length in space at its depth)"
            f" {_fixed(report['nme_true_size'])}{unit} (median {_fixed(report['median_nme_true_size'])})"
        )
    return f"""<!doctype html><html><head><meta charset=utf-8><title>Realism report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px}}figure{{display:inline-block;margin:4px}}</style></head><body>
<h1>Realism: {html.escape(report["render_dir"])}</h1>
<p id=summary>MediaPipe's {html.escape(", ".join(report["models"].values()))} found {report["found"]} of
{report["renders"]} {html.escape(report["scene"])} ({100 * report["found_share"]:.0f}%); where found, NME {nme}
(median {_fixed(report["median_nme"])}){true_size}.</p>
<h2>By skin tone</h2><table><tr><th>tone</th><th>renders</th><th>found</th><th>NME ({unit})</th></tr>{tones}</table>
<h2>By keypoint ({unit}; offset along the subject's axes: x right, y up)</h2>
<table><tr><th>keypoint</th><th>error</th><th>offset x</th><th>offset y</th></tr>{points}</table>
<h2>Worst found (green: our labels, red: the model)</h2>{figures(worst, lambda r: f"{r['nme']:.1f}{unit}")}
<h2>Not found</h2>{figures(missed, lambda r: "missed")}
<script type=application/json id=metrics>{json.dumps(report)}</script></body></html>"""

"""The detector family: SSD detectors in MediaPipe's layout, one `DetectorTask` per published detector.

| task | detector kind (`kinds.DETECTORS`) | finds | anchors, input |
|---|---|---|---|
| palm_detection | PALM_DETECTION (BlazePalm, FPN decoder) | palm box + 7 keypoints of 21 | 2016 at 192x192 |
| face_detection | FACE_DETECTION_SHORT_RANGE (BlazeFace) | face box + 6 keypoints | 896 at 128x128 |
| face_detection_full | FACE_DETECTION_FULL_RANGE | the same, up to about 5 m | 2304 at 192x192 |
| pose_detection | POSE_DETECTION (BlazePose's detector) | person box + 4 alignment points of 33 | 2254 at 224x224 |

Their configs share `configs/recipe/_detector.yaml`. The parts: `kinds` (what each detector finds in
a sample: a strategy object per kind), `model` (architectures, targets, focal / mined-CE and Huber
losses), `data` (whole images letterboxed as the runtime letterboxes them, SSD targets), `evaluate`
(COCO AP through pycocotools), `export` (TFLite + the decoding options the runtime reads),
`ablation` (`blazeforge bench ablation=blazepalm`). This module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blazeforge.recipes.base import Task


@dataclass(frozen=True, repr=False)
class DetectorTask(Task):
    """An SSD detector task: `detector` names its `kinds.DETECTORS` entry; roles: the runtime
    roles its exports fill."""

    name: str
    topology: str
    detector: str
    roles: dict = field(default_factory=dict)
    config_dir: Path | None = None

    def build_model(self, recipe):
        from blazeforge.recipes.detection.model import build_model

        return build_model(self, recipe)

    def adapt_init(self, model, recipe):
        from blazeforge.recipes.detection.model import adapt_published

        adapt_published(model, recipe)

    def losses(self, recipe):
        from blazeforge.recipes.detection.model import losses

        return losses(recipe)

    def pack_targets(self, targets):
        from blazeforge.recipes.detection.model import pack_targets

        return pack_targets(targets)

    def dataset(self, cfg, dataset_dir, split, training):
        from blazeforge.recipes.detection.data import make_dataset

        return make_dataset(cfg, dataset_dir, split, training)

    def published(self):
        from blazeforge import zoo

        return sorted(n for n, m in zoo.MODELS.items() if m.builder and m.detector == self.detector)

    def evaluate(self, cfg, run_dir):
        from blazeforge.recipes.detection.evaluate import evaluate

        return evaluate(self, cfg, run_dir)

    def export(self, cfg, run_dir):
        from blazeforge.recipes.detection.export import export

        return export(self, cfg, run_dir)

    def summary(self, metrics):
        chosen = metrics.get("min_score")
        if chosen and "AP50" not in metrics:  # an export's: the runtime's score threshold
            how = (
                f" ({chosen['rule']}; F1 {chosen['f1']:.2f} on the {chosen['split']} split)"
                if "split" in chosen
                else ""
            )
            return [("runtime min_score", f"{chosen['value']:.2f}{how}")]
        if "AP50" not in metrics:
            return []
        rows = [("AP50", f"{metrics['AP50']:.3f}"), ("AP", f"{metrics['AP']:.3f}")]
        best = metrics.get("score_threshold") or {}
        if best.get("min_score") is not None:
            rows.append(
                (
                    "best F1 at IoU 0.5",
                    f"{best['f1']:.2f} at score {best['min_score']:.2f} "
                    f"(precision {best['precision']:.2f}, recall {best['recall']:.2f})",
                )
            )
        return rows


PALM_DETECTION = DetectorTask("palm_detection", "hand", "PALM_DETECTION", roles={"palm_detector": {}})
FACE_DETECTION = DetectorTask(
    "face_detection", "face_keypoints", "FACE_DETECTION_SHORT_RANGE", roles={"face_detector": {}}
)
FACE_DETECTION_FULL = DetectorTask(
    "face_detection_full", "face_keypoints", "FACE_DETECTION_FULL_RANGE", roles={"face_detector": {}}
)
POSE_DETECTION = DetectorTask("pose_detection", "pose", "POSE_DETECTION", roles={"pose_detector": {}})

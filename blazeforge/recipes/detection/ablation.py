"""`blazeforge bench ablation=blazepalm`: the MediaPipe Hands palm-detector ablation, re-run.

The paper (Zhang et al. 2020, "MediaPipe Hands", table 1) reports the palm detector's average
precision as 86.22% without the decoder and with cross-entropy, 94.07% with the decoder, 95.7% with
the decoder and focal loss. This trains the three variants (`VARIANTS`: recipe.decoder x
recipe.loss.classification) on the same data with the same seed and schedule, exports each to
fp32 TFLite and evaluates the export on the held-out split (`evaluation.detection`), under
`run_dir/<variant>/{train,export,evaluate}`. Without bench.dataset it first renders render.n hands
(`run_dir/render`) and builds their dataset (`run_dir/datasets`). Every stage whose folder holds
metrics.json is kept, so re-running on the same run_dir resumes.

metrics.json: `ablation` {variant: AP, AP50, keypoint_error, params, latency_ms (fp32 LiteRT, 1
thread, median), train_seconds, run_dir}, `published` (the paper's AP per variant), `dataset`,
`helps`: whether the decoder (fpn+ce over none+ce) and focal loss (fpn+focal over fpn+ce) raised AP50.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)

VARIANTS = {
    "fpn+focal": {"decoder": "fpn", "classification": "focal"},
    "fpn+ce": {"decoder": "fpn", "classification": "ce"},
    "none+ce": {"decoder": "none", "classification": "ce"},
}
PUBLISHED_AP = {"fpn+focal": 0.957, "fpn+ce": 0.9407, "none+ce": 0.8622}


def bench(cfg: DictConfig, run_dir: Path, stage) -> dict:
    """Run the palm detector ablation (see the module docstring); stage(verb, cfg, run_dir) -> metrics
    runs one stage or returns the metrics of a finished one (`engine.stage`)."""
    if cfg.recipe.name != "palm_detection":
        raise BlazeforgeError("recipe", f"the blazepalm ablation trains recipe=palm_detection, got {cfg.recipe.name}")
    run_dir = Path(run_dir)
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # a private, writable copy
    dataset = cfg.bench.dataset
    if not dataset:
        cfg.datasets.renders = str(run_dir / "render")
        stage("render", cfg, run_dir / "render")
        stage("datasets", cfg, run_dir / "datasets")
        dataset = str(run_dir / "datasets")
    table = {}
    for name, variant in VARIANTS.items():
        folder = run_dir / name
        v = cfg.copy()
        v.recipe.decoder = variant["decoder"]
        v.recipe.loss.classification = variant["classification"]
        v.train.dataset = dataset
        trained = stage("train", v, folder / "train")
        v.export.checkpoint, v.export.quantize, v.export.threads = str(folder / "train"), "none", [1]
        exported = stage("export", v, folder / "export")
        fp32 = exported["exports"]["fp32"]
        v.evaluate.checkpoint, v.evaluate.dataset = fp32["path"], dataset
        scored = stage("evaluate", v, folder / "evaluate")
        table[name] = {
            "AP": scored["AP"],
            "AP50": scored["AP50"],
            "keypoint_error": scored["keypoint_error"],
            "params": trained["params"],
            "latency_ms": fp32["latency_ms"]["threads_1"]["median"],
            "train_seconds": trained["seconds"],
            "run_dir": str(folder),
        }
        log.info("bench: %s AP %.3f AP50 %.3f", name, scored["AP"], scored["AP50"])
    return {
        "ablation": table,
        "published": {"AP": PUBLISHED_AP, "source": "MediaPipe Hands (arXiv:2006.10214), table 1"},
        "dataset": dataset,
        "split": str(cfg.evaluate.split),
        "helps": {
            "decoder": table["fpn+ce"]["AP50"] > table["none+ce"]["AP50"],
            "focal": table["fpn+focal"]["AP50"] > table["fpn+ce"]["AP50"],
        },
    }

"""`blazeforge bench ablation=blazepose`: the BlazePose paper's training schedules side by side.

The paper trains the landmark model's encoder-decoder with heatmap and offset supervision and the
regression branch on its features through a stop-gradient. This trains the three schedules of
recipe.schedules (`SCHEDULES`) on the same dataset with the same seed, step budget (trainer.epochs x
trainer.steps_per_epoch) and model, and evaluates each on the held-out split, under
`run_dir/<schedule>/{train,evaluate}`:
- heatmap_then_regression: heatmaps + offsets first, then regression through a stop-gradient;
- regression: regression alone through the whole network;
- joint: every loss at once, no stop-gradient.
bench.dataset names a datasets run directory of body labels (required: bodies take 8 core-seconds a
render, so the bench renders none). A stage whose folder holds metrics.json is kept: re-running resumes.

metrics.json: `ablation` {schedule: nme (the runtime's read-out, % of torso size as a share),
pck_0.2_coco, pck_0.2, nme_regression, nme_heatmap, baseline_nme, steps, train_seconds, run_dir},
`budget` (steps x batch), `stop_gradient_wins`: whether the paper's schedule scored the lowest NME.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)

SCHEDULES = ("heatmap_then_regression", "regression", "joint")


def bench(cfg: DictConfig, run_dir: Path, stage) -> dict:
    """Run the schedule ablation (see the module docstring); stage(verb, cfg, run_dir) -> metrics
    runs one stage or returns the metrics of a finished one (`engine.stage`)."""
    if cfg.recipe.name != "pose_landmarks":
        raise BlazeforgeError("recipe", f"the blazepose ablation trains recipe=pose_landmarks, got {cfg.recipe.name}")
    if not cfg.bench.dataset:
        raise BlazeforgeError("bench.dataset", "expected a datasets run directory of body labels (data=bodies)")
    run_dir = Path(run_dir)
    table = {}
    for name in SCHEDULES:
        folder = run_dir / name
        v = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
        v.recipe.schedule = name
        v = OmegaConf.create(OmegaConf.to_container(v, resolve=True))  # phases and stop-gradient of `name`
        v.train.dataset = str(cfg.bench.dataset)
        trained = stage("train", v, folder / "train")
        v.evaluate.checkpoint, v.evaluate.dataset = str(folder / "train"), str(cfg.bench.dataset)
        scored = stage("evaluate", v, folder / "evaluate")
        table[name] = {
            "nme": scored["nme"],
            "pck_0.2_coco": scored["pck_0.2_coco"],
            "pck_0.2": scored["pck_0.2"],
            "nme_regression": scored["readouts"]["regression"]["nme"],
            "nme_heatmap": scored["readouts"]["heatmap"]["nme"],
            "baseline_nme": scored["baseline_nme"],
            "steps": trained["steps_per_epoch"] * trained["epochs"],
            "train_seconds": trained["seconds"],
            "run_dir": str(folder),
        }
        log.info("bench: %s NME %.3f PCK@0.2 (COCO) %.3f", name, scored["nme"], scored["pck_0.2_coco"])
    best = min(table, key=lambda name: table[name]["nme"])
    return {
        "task": "pose_landmarks",  # the terminal summary is the task's
        "ablation": table,
        "budget": {"steps": table[SCHEDULES[0]]["steps"], "batch_size": int(cfg.trainer.batch_size)},
        "dataset": str(cfg.bench.dataset),
        "split": str(cfg.evaluate.split),
        "stop_gradient_wins": best == "heatmap_then_regression",
    }

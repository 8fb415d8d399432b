"""Evaluation: landmark metrics and reports (`hand_landmarks`), detector AP (`detection`: palms, faces),
gesture accuracy (`gesture`), face-landmark fairness by group (`fairness`), iris depth on face
renders (`iris_depth`).

`evaluate(cfg, run_dir)` is the `blazeforge evaluate` verb: it scores the checkpoint with the
evaluation of its recipe (`recipes.of_checkpoint`).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def evaluate(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.recipes import is_detector, of_checkpoint

    if cfg.evaluate.report == "fairness":
        from blazeforge.evaluation.fairness import evaluate_fairness

        return evaluate_fairness(cfg, run_dir)
    if cfg.evaluate.report == "iris_depth":
        from blazeforge.evaluation.iris_depth import evaluate_iris_depth

        return evaluate_iris_depth(cfg, run_dir)
    recipe = of_checkpoint(cfg.evaluate.checkpoint, str(cfg.recipe.name))
    if is_detector(recipe):
        from blazeforge.evaluation.detection import evaluate as run
    elif recipe == "gesture":
        from blazeforge.evaluation.gesture import evaluate as run
    else:
        from blazeforge.evaluation.landmarks import evaluate as run
    return run(cfg, run_dir)

"""The quickstart: render -> datasets -> train -> evaluate -> export -> run, each in a folder of one run.

`blazeforge demo` (what `make demo` runs) composes `experiment=demo` and runs the six stages under
`outputs/demo/DATE/TIME/{render,datasets,train,evaluate,export,run}`; the last runs the hands
pipeline on the first shard's renders with the exported landmark model (and MediaPipe's palm
detector, as no palm export of ours is made here). A stage whose folder already has
metrics.json is skipped, so `blazeforge demo run_dir=<that folder>` resumes an interrupted demo.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

STAGES = ("render", "datasets", "train", "evaluate", "export", "run")


def demo(cfg: DictConfig, run_dir: Path) -> dict:
    """Run every stage of the hand-landmark spine; returns the headline figures and artifact paths."""
    from blazeforge.cli import run_stage

    dirs = {stage: run_dir / stage for stage in STAGES}
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # a private, writable copy
    cfg.datasets.renders = str(dirs["render"])
    cfg.train.dataset = str(dirs["datasets"])
    cfg.evaluate.checkpoint = str(dirs["train"])
    cfg.export.checkpoint = str(dirs["train"])
    cfg.run.source = str(dirs["render"] / "shard-00000" / "frames")
    cfg.run.models = str(dirs["export"])
    if isinstance(cfg.export.quantize, str) and cfg.export.quantize == "none":
        cfg.export.quantize = ["none", "int8"]

    results = {}
    for stage in STAGES:
        done = dirs[stage] / "metrics.json"
        if done.is_file():
            log.info("demo: %s already done in %s", stage, dirs[stage])
            results[stage] = json.loads(done.read_text())
            continue
        log.info("demo: %s -> %s", stage, dirs[stage])
        _, results[stage] = run_stage(stage, cfg.copy(), dirs[stage])

    artifacts = {
        "renders": str(dirs["render"]),
        "dataset": str(dirs["datasets"]),
        "checkpoint": str(dirs["train"] / "model.keras"),
        "eval_metrics": str(dirs["evaluate"] / "metrics.json"),
        "eval_report": str(dirs["evaluate"] / "report.html"),
        **{f"tflite_{q}": str(p) for q, p in _tflite_files(dirs["export"]).items()},
        "export_metrics": str(dirs["export"] / "metrics.json"),
        "annotated_video": str(dirs["run"] / "annotated.mp4"),
        "frames_jsonl": str(dirs["run"] / "frames.jsonl"),
    }
    ev = results["evaluate"]
    summary = {
        "nme_2d": ev.get("nme_2d"),
        "baseline_nme_2d": ev.get("baseline_nme_2d"),
        "artifacts": artifacts,
        "stages": {stage: results[stage].get("seconds") for stage in STAGES},
    }
    _print_summary(summary, results)
    return summary


def _tflite_files(export_dir: Path) -> dict:
    return {p.stem.rsplit("_", 1)[-1]: p for p in sorted(export_dir.glob("*.tflite"))}


def _print_summary(summary: dict, results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="blazeforge demo: what it left behind")
    table.add_column("artifact")
    table.add_column("path")
    for name, path in summary["artifacts"].items():
        table.add_row(name, path)
    console = Console()
    console.print(table)
    nme, base = summary["nme_2d"], summary["baseline_nme_2d"]
    if nme is not None and base is not None:
        console.print(
            f"palm-normalized 2D NME on held-out renders: model {nme:.4f}, mean-pose baseline "
            f"{base:.4f} (baseline / model = {base / max(nme, 1e-9):.2f})"
        )
    for quant, figures in results["export"].get("exports", {}).items():
        console.print(f"tflite {quant}: {json.dumps(figures, default=str)[:300]}")

"""The engine: every verb runs through `run_stage(verb, cfg)`.

`run_stage` finds the task the verb runs for (`train`: recipe.name; `evaluate`, `export`: the
checkpoint's recorded task, `recipes.for_checkpoint`), configures cfg.recipe as that checkpoint
was trained, makes the run directory (config.yaml with `task:`), runs the stage with the
libraries' output in its log.txt (`console.quiet`, unless verbose=true), writes metrics.json and
prints one line. Composite verbs reuse it: `demo` (the quickstart, every stage once) and `bench`
(the palm detector's ablation). A finished stage (its metrics.json is there) is kept, so running
the same command on the same run_dir resumes it.
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from blazeforge import console, recipes, runs
from blazeforge.config import compose
from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.base import Task

VERBS = ("render", "datasets", "train", "evaluate", "export", "run", "serve-demo", "annotate", "demo", "bench")
REPORTS = ("standard", "fairness", "iris_depth", "realism")  # evaluate.report: the task's own, or a report by name


def configure(verb: str, overrides: list[str] = ()) -> DictConfig:
    """The composed config of a verb, with the config folders of every registered task."""
    return compose(verb, list(overrides), recipes.config_dirs())


# ---- which task a verb runs for ----------------------------------------------------------------


def task_for(verb: str, cfg: DictConfig) -> Task | None:
    """The task `verb` runs for (None for render, datasets, run, the named reports and composites)."""
    if verb == "train":
        return recipes.get(str(cfg.recipe.name))
    if verb == "export" and cfg.export.format == "task":
        return None  # a bundle of a pipeline's models, not one checkpoint's
    if verb == "export" or (verb == "evaluate" and cfg.evaluate.report == "standard"):
        checkpoint = cfg[verb].checkpoint
        if not checkpoint:
            raise BlazeforgeError(
                f"{verb}.checkpoint", "expected a train run directory, a .keras or .tflite file, or mediapipe:NAME"
            )
        if str(checkpoint).endswith(".keras") and runs.train_run(checkpoint) is None:
            return recipes.get(str(cfg.recipe.name))  # a bare .keras file: recipe=NAME says whose
        return recipes.for_checkpoint(str(checkpoint), f"{verb}.checkpoint")
    return None


def trained_recipe(cfg: DictConfig, task: Task, checkpoint) -> DictConfig:
    """cfg with cfg.recipe as `checkpoint` was trained (its train run's config), else cfg's own where
    it is the task's recipe, else the task's defaults."""
    trained = runs.train_config(checkpoint) if checkpoint and not str(checkpoint).startswith("mediapipe:") else None
    if trained is not None:
        recipe = trained.recipe
    elif cfg.recipe.name == task.name:
        return cfg
    else:
        recipe = configure("train", [f"recipe={task.name}"]).recipe
    out = cfg.copy()
    with open_dict(out):
        out.recipe = OmegaConf.to_container(recipe, resolve=True)
    return out


# ---- the stages --------------------------------------------------------------------------------


def _render(cfg, run_dir, task):
    from blazeforge.synthetic.render import render

    return render(cfg, run_dir)


def _datasets(cfg, run_dir, task):
    from blazeforge.datasets import build

    return build(cfg, run_dir)


def _train(cfg, run_dir, task):
    from blazeforge.training.trainer import train

    return train(task, cfg, run_dir)


def _evaluate(cfg, run_dir, task):
    if cfg.evaluate.report == "fairness":
        from blazeforge.evaluation.fairness import evaluate_fairness

        return evaluate_fairness(cfg, run_dir)
    if cfg.evaluate.report == "iris_depth":
        from blazeforge.evaluation.iris_depth import evaluate_iris_depth

        return evaluate_iris_depth(cfg, run_dir)
    if cfg.evaluate.report == "realism":
        from blazeforge.evaluation.realism import evaluate_realism

        return evaluate_realism(cfg, run_dir)
    return task.evaluate(cfg, run_dir)


def _export(cfg, run_dir, task):
    if cfg.export.format == "task":
        from blazeforge.export.task_bundle import export_bundle

        return export_bundle(cfg, run_dir)
    if cfg.export.format != "tflite":
        raise BlazeforgeError("export.format", f"expected tflite or task, got {cfg.export.format!r}")
    from blazeforge.export.model_card import write_model_card

    metrics = task.export(cfg, run_dir)
    return {**metrics, "model_card": str(write_model_card(cfg, run_dir, task, metrics))}


def _run(cfg, run_dir, task):
    from blazeforge.runtime.pipeline import run

    return run(cfg, run_dir)


def _serve_demo(cfg, run_dir, task):
    from blazeforge.runtime.web_demo import serve

    return serve(cfg.serve_demo, run_dir)


def _annotate(cfg, run_dir, task):
    from blazeforge.annotation.actions import annotate

    return annotate(cfg, run_dir, stage)


# bench.ablation -> the module whose bench(cfg, run_dir, stage) runs it
ABLATIONS = {"blazepalm": "blazeforge.recipes.detection.ablation", "blazepose": "blazeforge.recipes.pose.ablation"}


def _bench(cfg, run_dir, task):
    import importlib

    name = str(cfg.bench.ablation)
    if name not in ABLATIONS:
        raise BlazeforgeError("bench.ablation", f"expected {' | '.join(ABLATIONS)}, got {name!r}")
    return importlib.import_module(ABLATIONS[name]).bench(cfg, run_dir, stage)


STAGES = {
    "render": _render,
    "datasets": _datasets,
    "train": _train,
    "evaluate": _evaluate,
    "export": _export,
    "run": _run,
    "serve-demo": _serve_demo,
    "annotate": _annotate,
    "bench": _bench,
}


def run_stage(verb: str, cfg: DictConfig, run_dir: Path | None = None) -> tuple[Path, dict]:
    """Run one verb on a composed config; returns (run_dir, metrics)."""
    if verb == "demo":
        return demo(cfg, run_dir)
    if verb not in STAGES:
        raise BlazeforgeError(verb, f"unknown verb; expected one of {', '.join(VERBS)}")
    if cfg.evaluate.report not in REPORTS:
        raise BlazeforgeError("evaluate.report", f"expected one of {', '.join(REPORTS)}, got {cfg.evaluate.report!r}")
    cfg = cfg.copy()
    if run_dir is not None:
        cfg.run_dir = str(run_dir)
    task = task_for(verb, cfg)
    if task is not None and verb in ("evaluate", "export"):
        cfg = trained_recipe(cfg, task, cfg[verb].checkpoint)
    run_dir = runs.make_run_dir(cfg, verb, task.name if task else None)
    start = time.time()
    with console.quiet(run_dir / "log.txt", bool(cfg.get("verbose", False))):
        metrics = STAGES[verb](cfg, run_dir, task) or {}
    metrics.setdefault("seconds", round(time.time() - start, 2))
    if task is not None:
        metrics.setdefault("task", task.name)
    runs.write_metrics(run_dir, metrics)
    return run_dir, metrics


def stage(verb: str, cfg: DictConfig, run_dir: Path, label: str | None = None) -> dict:
    """A stage of a composite verb: its metrics where run_dir already finished it, else `run_stage`;
    one line on the terminal either way (label, time, run directory)."""
    label = label or verb
    done = runs.read_metrics(run_dir)
    if done is not None:
        console.say(f"  {label:<10} kept      {run_dir}")
        return done
    _, metrics = run_stage(verb, cfg.copy(), run_dir)
    console.say(f"  {label:<10} {_minutes(metrics['seconds']):<9} {run_dir}")
    return metrics


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def report(verb: str, run_dir: Path, metrics: dict) -> None:
    """The terminal summary of a finished verb: the task's figures, then where everything is."""
    task = recipes.TASKS.get(str(metrics.get("task")))
    rows = task.summary(metrics) if task is not None else []
    for precision, figures in metrics.get("exports", {}).items():
        rows += export_rows(precision, figures)
    if verb == "train":
        rows += [
            ("epochs", str(metrics["epochs"])),
            ("loss", f"train {metrics['train_loss']:.4g}, val {metrics['val_loss']:.4g}"),
            ("speed", f"{metrics['images_per_second']:.1f} images/s"),
        ]
    if verb == "run":
        rows += [
            ("frames", str(metrics["frames"])),
            ("fps", f"{metrics['fps']:.1f}"),
            ("detector", f"on {100 * metrics['detector_fraction']:.0f}% of the frames"),
        ]
    if verb == "serve-demo":
        rows += [("page", metrics["url"]), ("model", metrics["model"]), ("LiteRT.js", metrics["litertjs"])]
    if verb == "annotate":
        names = {
            "labels": "labels",
            "file": "file",
            "url": "Label Studio",
            "editor": "editor",
            "versions": "versions",
            "images": "images",
            "annotations": "annotations",
        }
        rows += [(label, str(metrics[key])) for key, label in names.items() if key in metrics]
        if metrics.get("action") == "loop":
            unit = metrics["unit"]
            for r in metrics["rounds"]:
                refined = f", {60 * r['minutes_per_image']:.0f} s per image refined" if r["round"] else ""
                rows.append(
                    (
                        f"round {r['round']}",
                        f"{r['error']:.2f}% of {unit} on the reference, {r['labels']} labels{refined}",
                    )
                )
            agreement = metrics["agreement"]
            rows += [
                (
                    "agreement",
                    f"{agreement:.2f}% of {unit} between annotators" if agreement is not None else "not measured",
                ),
                ("report", str(run_dir / "report.html")),
            ]
        if metrics.get("action") == "agree":
            unit = metrics["unit"]
            rows += [
                (
                    "agreement",
                    f"{metrics['agreement']:.2f}% of {unit} between annotators "
                    f"({metrics['instances']} instances on {metrics['doubly_labelled']} doubly labelled images)",
                ),
                *(
                    (f"  {pair}", f"{v['nme']:.2f}% of {unit} ({v['instances']} instances)")
                    for pair, v in metrics["pairs"].items()
                ),
            ]
            worst = sorted(metrics["per_point"].items(), key=lambda item: -item[1])[:3]
            rows += [("least agreed", ", ".join(f"{name} {v:.1f}%" for name, v in worst))]
        if "images_found" in metrics:  # prelabel
            median = metrics["uncertainty_median"]
            rows += [
                (
                    "found",
                    f"{metrics['instances']} instances in {metrics['images_found']} of {metrics['images']} images",
                ),
                (
                    "uncertainty",
                    f"median {median:.1f}% of {metrics['unit']} (prediction vs. the mirrored image's)"
                    if median is not None
                    else "none: nothing found",
                ),
                ("look first at", str((run_dir / metrics["first"]).resolve())),
            ]
    if "model_card" in metrics:
        rows += [("model card", metrics["model_card"])]
    if "bundle" in metrics:  # export format=task
        from blazeforge.export.task_bundle import summary_rows

        rows += summary_rows(metrics)
    if metrics.get("report") == "realism":
        from blazeforge.evaluation.realism import summary_rows

        rows += summary_rows(metrics)
    if verb == "evaluate" and (run_dir / "report.html").is_file():
        rows += [("report", str(run_dir / "report.html"))]
    rows += [("time", _minutes(float(metrics["seconds"]))), ("run directory", str(run_dir))]
    console.table(f"{verb}: done", rows)


def export_rows(precision: str, figures: dict) -> list[tuple[str, str]]:
    """(figure, value) rows of one export: size, latency at its first thread count, parity."""
    latency = next(iter(figures["latency_ms"].values()))
    threads = next(iter(figures["latency_ms"])).split("_")[-1]
    output, worst = max(figures["parity"].items(), key=lambda item: item[1]["max_abs_diff"])
    return [
        (f"{precision} file", figures["path"]),
        (f"{precision} size", f"{figures['bytes'] / 1e6:.1f} MB"),
        (f"{precision} latency", f"{latency['median']:.2f} ms (median, {threads} thread, XNNPack)"),
        (
            f"{precision} parity",
            f"|TFLite - Keras| on {output}: max {worst['max_abs_diff']:.2g}, mean {worst['mean_abs_diff']:.2g}",
        ),
    ]


# ---- the quickstart ------------------------------------------------------------------------------

DEMO_STAGES = ("render", "datasets", "published", "train", "evaluate", "export", "run")


def demo(cfg: DictConfig, run_dir: Path | None = None) -> tuple[Path, dict]:
    """render -> datasets -> train (fine-tune the published hand model) -> evaluate -> export -> run,
    each in a folder of one run directory (`outputs/demo/DATE/TIME/<stage>`), plus `published/`:
    the published model scored on the same held-out renders before fine-tuning. The run stage runs
    the hands pipeline on the first shard's renders with the exported model (and MediaPipe's palm
    detector: the demo trains none). Returns (run_dir, the headline figures)."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # a private, writable copy
    if run_dir is not None:
        cfg.run_dir = str(run_dir)
    run_dir = runs.make_run_dir(cfg, "demo")
    dirs = {name: run_dir / name for name in DEMO_STAGES}
    cfg.datasets.renders = str(dirs["render"])
    cfg.train.dataset = str(dirs["datasets"])
    cfg.export.checkpoint = str(dirs["train"])
    cfg.run.source = str(dirs["render"] / "shard-00000" / "frames")
    cfg.run.models = str(dirs["export"])
    start = time.time()
    console.say(f"blazeforge demo -> {run_dir}")
    results = {}
    stages = [name for name in DEMO_STAGES if name != "published" or cfg.train.init]  # train.init=null: from scratch
    for name in stages:
        verb = "evaluate" if name == "published" else name
        cfg.evaluate.checkpoint = str(cfg.train.init) if name == "published" else str(dirs["train"])
        cfg.evaluate.dataset = str(dirs["datasets"])
        results[name] = stage(verb, cfg, dirs[name], name)
    before, after, export = results.get("published"), results["evaluate"], results["export"]["exports"]
    summary = {
        "published_nme_2d": before["nme_2d"] if before else None,
        "nme_2d": after["nme_2d"],
        "baseline_nme_2d": after["baseline_nme_2d"],
        "exports": export,
        "stages": {name: results[name]["seconds"] for name in stages},
        "seconds": round(time.time() - start, 2),
    }
    runs.write_metrics(run_dir, summary)
    pct = lambda v: f"{100 * v:.1f}% of palm size"  # noqa: E731
    rows = [(f"published {cfg.train.init}", pct(before["nme_2d"]))] if before else []
    rows += [
        ("fine-tuned on the renders" if before else "trained on the renders", pct(after["nme_2d"])),
        ("mean-pose baseline", pct(after["baseline_nme_2d"])),
        ("baseline / model", f"{after['baseline_nme_2d'] / max(after['nme_2d'], 1e-9):.2f}x"),
    ]
    for precision, figures in export.items():
        rows += export_rows(precision, figures)
        rows.append((f"{precision} NME 2D", pct(figures["nme_2d"])))
    rows += [
        ("hands pipeline", f"{results['run']['frames']} frames at {results['run']['fps']:.1f} fps"),
        ("annotated video", str(dirs["run"] / "annotated.mp4")),
        ("evaluation report", str(dirs["evaluate"] / "report.html")),
        ("time", _minutes(summary["seconds"])),
        ("run directory", str(run_dir)),
    ]
    console.table(f"blazeforge demo: 2D NME on {after['count']} held-out renders", rows)
    return run_dir, summary


# ---- MediaPipe's published models ----------------------------------------------------------------


def zoo(action: str, names: list[str], options: dict) -> int:
    """`blazeforge zoo list | fetch [name ...] [source=wheel|url] | parity [name ...] [renders=DIR]
    [run_dir=DIR]`; returns the exit status (parity: 1 when an output exceeds its tolerance)."""
    from blazeforge import zoo as published

    if action == "list":
        for name, model in published.MODELS.items():
            keras = "keras" if model.builder else "-"
            size = f"{model.input_size[0]}x{model.input_size[1]}" if model.input_size else "?"
            source = model.wheel_member or f"{published.MODEL_URL.format(name=name)} (source=url)"
            print(f"{name:36s} {size:8s} {keras:5s}  {source}")
        return 0
    if action == "fetch":
        for name, path in published.fetch(names or None, source=options.get("source", "wheel")).items():
            print(f"{name}: {path}")
        return 0
    from blazeforge.zoo import parity

    for name in names:
        published.get(name)  # unknown names fail before anything runs
    cfg = OmegaConf.create(
        {
            "run_dir": options.get("run_dir"),
            "models": names or "all",
            "renders": options.get("renders"),
            "tolerance": parity.TOLERANCE,
        }
    )
    run_dir = runs.make_run_dir(cfg, "zoo")
    found, skipped = parity.parity(names or None, renders=options.get("renders"))
    runs.write_metrics(run_dir, found)
    for name, outputs in found.items():
        for output, f in outputs.items():
            flag = "ok" if f["max_abs_diff"] <= f["tolerance"] else f"OVER TOLERANCE {f['tolerance']:.0e}"
            print(
                f"{name:32s} {output:16s} max {f['max_abs_diff']:.2e}  mean {f['mean_abs_diff']:.2e}  "
                f"({f['unit']}, {f['inputs']} inputs)  {flag}"
            )
    for name, reason in skipped.items():
        print(f"{name:32s} skipped: {reason}")
    print(f"zoo parity: done -> {run_dir}")
    return 1 if parity.failures(found) else 0

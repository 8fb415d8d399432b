"""`blazeforge VERB key=value ...`: the command line.

Each verb composes the config tree (blazeforge/configs), makes a run directory, runs its stage
and writes metrics.json there. Errors in the user's input print one line and exit with status 2.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from blazeforge.errors import BlazeforgeError

USAGE = """usage: blazeforge VERB [key=value ...]

verbs:
  render     render labelled synthetic hands or faces with Blender (scene=hands|faces n=200 shards=4 workers=2)
  datasets   build the dataset from renders, COCO-style files and WIDER FACE annotations
             (datasets build renders=RUN_DIR | coco=FILE.json | data=faces wider=FILE.txt)
  train      train a recipe on a dataset (train dataset=RUN_DIR [recipe=hand_landmarks|face_mesh|iris|
             palm_detection|face_detection|face_detection_full|gesture]
             [init=RUN_DIR|mediapipe:NAME] [experiment=smoke])
  evaluate   landmarks (hands, face meshes, eyes): NME / PCK / presence AUC against a mean-shape
             baseline; detectors: COCO AP (evaluate checkpoint=RUN_DIR | model.tflite | mediapipe:NAME);
             face landmarks by group: evaluate fairness dataset=RUN_DIR [checkpoint=RUN_DIR|
             mediapipe:face_landmark] group_by=region; iris depth on face renders: evaluate iris_depth
             renders=RUN_DIR [checkpoint=RUN_DIR|mediapipe:iris_landmark]
  export     TFLite fp32 / fp16 / dynamic / int8 with parity and latency (export checkpoint=RUN_DIR quantize=int8)
  run        a pipeline on video, images or a camera, with MediaPipe's models or our exports
             (run pipeline=hands|face_mesh source=VIDEO|FOLDER|camera:N [models=mediapipe|RUN_DIR]):
             annotated.mp4, frames.jsonl, metrics.json (fps, ms per calculator, detector_fraction)
  demo       all of the above on embedded defaults: about 200 renders, minutes of training
  bench      ablation=blazepalm: the palm detector with and without its decoder and focal loss
             (bench ablation=blazepalm [dataset=RUN_DIR] [experiment=ablation]), AP table in metrics.json
  zoo        MediaPipe's published models: zoo list, zoo fetch [name ...] [source=wheel|url],
             zoo parity [name ...] [renders=DIR] (our Keras models with imported weights vs the .tflite)

Every verb takes key=value overrides of the config tree (`blazeforge VERB --help` lists its keys),
experiment=smoke|demo|full|ablation, and run_dir=PATH (default outputs/VERB/DATE/TIME). Re-running a verb
on the same run_dir resumes it: finished renders, dataset builds and epochs are kept.
"""


def _stage(verb: str):
    """The function that runs `verb`: (cfg, run_dir) -> metrics dict. Imported lazily (TF, bpy)."""
    if verb == "render":
        from blazeforge.synthetic.render import render

        return render
    if verb == "datasets":
        from blazeforge.datasets import build

        return build
    if verb == "train":
        from blazeforge.training.trainer import train

        return train
    if verb == "evaluate":
        from blazeforge.evaluation import evaluate

        return evaluate
    if verb == "export":
        from blazeforge.export.tflite import export

        return export
    if verb == "run":
        from blazeforge.runtime.pipeline import run

        return run
    if verb == "demo":
        from blazeforge.demo import demo

        return demo
    if verb == "bench":
        from blazeforge.evaluation.ablation import bench

        return bench
    raise BlazeforgeError(
        verb, "unknown verb; expected one of render, datasets, train, evaluate, export, run, demo, bench"
    )


def run_stage(verb: str, cfg, run_dir: Path | None = None) -> tuple[Path, dict]:
    """Run one verb on a composed config; returns (run_dir, metrics). Used by the CLI and the demo."""
    from blazeforge.config import make_run_dir, write_metrics

    if run_dir is not None:
        cfg.run_dir = str(run_dir)
    run_dir = make_run_dir(cfg, verb)
    handler = logging.FileHandler(run_dir / "log.txt")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        start = time.time()
        metrics = _stage(verb)(cfg, run_dir) or {}
        metrics.setdefault("seconds", round(time.time() - start, 2))
        write_metrics(run_dir, metrics)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    return run_dir, metrics


def verb_help(verb: str) -> str:
    """The verb's section of config.yaml, with its comments, and the config groups' choices."""
    from blazeforge.config import CONFIG_DIR, GROUPS, group_options

    lines = (CONFIG_DIR / "config.yaml").read_text().splitlines()
    section, inside = [], False
    for line in lines:
        if line.startswith(f"{verb}:"):
            inside = True
        elif inside and line and not line.startswith((" ", "#")):
            break
        if inside:
            section.append(line)
    body = "\n".join(section) if section else f"{verb}: (no keys of its own; see the groups below)"
    groups = "\n".join(f"  {g}={'|'.join(group_options(g))}" for g in GROUPS)
    return (
        f"usage: blazeforge {verb} [key=value ...]\n\nkeys of this verb (bare keys set these):\n{body}\n\n"
        f"config groups:\n{groups}\n\nalso: run_dir=PATH seed=N, and any dotted key of the tree, e.g. "
        f"trainer.epochs=3 recipe.width=lite"
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    verb, args = argv[0], argv[1:]
    if verb in ("-V", "--version"):
        from blazeforge import __version__

        print(__version__)
        return 0
    if verb == "zoo":
        return _zoo(args)
    logging.basicConfig(level=os.environ.get("BLAZEFORGE_LOG", "INFO"), format="%(message)s")
    try:
        from blazeforge.config import VERBS, compose

        if verb not in VERBS:
            raise BlazeforgeError(verb, f"unknown verb; expected one of {', '.join(VERBS)}")
        if any(a in ("-h", "--help") for a in args):
            print(verb_help(verb))
            return 0
        if verb == "evaluate" and args and args[0] in ("fairness", "iris_depth"):
            args = [f"evaluate.report={args[0]}", *args[1:]]
        if verb == "datasets":
            if not args or args[0] != "build":
                raise BlazeforgeError("datasets", "expected an action: blazeforge datasets build renders=RUN_DIR ...")
            args = args[1:]
        if verb == "demo" and not any(a.startswith("experiment=") for a in args):
            args = ["experiment=demo", *args]
        if verb == "bench" and not any(a.startswith("recipe=") for a in args):
            args = ["recipe=palm_detection", *args]
        cfg = compose(verb, args)
        run_dir, metrics = run_stage(verb, cfg)
        print(f"{verb}: done -> {run_dir}")
        return 0
    except BlazeforgeError as e:
        print(f"blazeforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blazeforge: interrupted; run the same command with run_dir=<its run dir> to resume", file=sys.stderr)
        return 130


def _zoo(args: list[str]) -> int:
    """`blazeforge zoo list | fetch [name ...] [source=wheel|url] | parity [name ...] [renders=DIR] [run_dir=DIR]`."""
    from blazeforge import zoo

    try:
        if not args or args[0] not in ("list", "fetch", "parity"):
            raise BlazeforgeError(
                "zoo",
                "expected an action: zoo list | zoo fetch [name ...] [source=wheel|url] | "
                "zoo parity [name ...] [renders=DIR] [run_dir=DIR]",
            )
        names = [a for a in args[1:] if "=" not in a]
        options = dict(a.split("=", 1) for a in args[1:] if "=" in a)
        allowed = {"fetch": {"source"}, "parity": {"renders", "run_dir"}, "list": set()}[args[0]]
        for key in set(options) - allowed:
            raise BlazeforgeError(f"zoo {args[0]} {key}=", f"unknown option; expected one of {sorted(allowed)}")
        if args[0] == "list":
            for name, model in zoo.MODELS.items():
                keras = "keras" if model.builder else "-"
                size = f"{model.input_size[0]}x{model.input_size[1]}" if model.input_size else "?"
                source = model.wheel_member or f"{zoo.MODEL_URL.format(name=name)} (source=url)"
                print(f"{name:36s} {size:8s} {keras:5s}  {source}")
            return 0
        if args[0] == "fetch":
            for name, path in zoo.fetch(names or None, source=options.get("source", "wheel")).items():
                print(f"{name}: {path}")
            return 0
        return _zoo_parity(names, options)
    except BlazeforgeError as e:
        print(f"blazeforge: error: {e}", file=sys.stderr)
        return 2


def _zoo_parity(names: list[str], options: dict) -> int:
    """Run zoo.parity, write metrics.json {model: {output: figures}} in a run directory, print a table.

    Exit status 1 when an output exceeds its tolerance (`parity.tolerance`)."""
    from omegaconf import OmegaConf

    from blazeforge import zoo
    from blazeforge.config import make_run_dir, write_metrics
    from blazeforge.zoo import parity

    for name in names:
        zoo.get(name)  # unknown names fail before anything runs
    cfg = OmegaConf.create(
        {
            "run_dir": options.get("run_dir"),
            "models": names or "all",
            "renders": options.get("renders"),
            "tolerance": parity.TOLERANCE,
        }
    )
    run_dir = make_run_dir(cfg, "zoo")
    report, skipped = parity.parity(names or None, renders=options.get("renders"))
    write_metrics(run_dir, report)
    for name, outputs in report.items():
        for output, f in outputs.items():
            flag = "ok" if f["max_abs_diff"] <= f["tolerance"] else f"OVER TOLERANCE {f['tolerance']:.0e}"
            print(
                f"{name:32s} {output:16s} max {f['max_abs_diff']:.2e}  mean {f['mean_abs_diff']:.2e}  "
                f"({f['unit']}, {f['inputs']} inputs)  {flag}"
            )
    for name, reason in skipped.items():
        print(f"{name:32s} skipped: {reason}")
    print(f"zoo parity: done -> {run_dir}")
    return 1 if parity.failures(report) else 0


if __name__ == "__main__":
    sys.exit(main())

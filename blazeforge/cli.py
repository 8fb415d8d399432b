"""`blazeforge VERB key=value ...`: the command line, parsing only.

Each verb composes the config tree (blazeforge/configs, and the folders of tasks registered from
elsewhere) and hands it to `engine.run_stage`, which makes the run directory, runs the stage and
writes metrics.json; then the verb's report is printed. Errors in the user's input print one line
and exit with status 2.
"""

from __future__ import annotations

import logging
import os
import sys

from blazeforge.errors import BlazeforgeError

USAGE = """usage: blazeforge VERB [key=value ...]

verbs:
  render     render labelled synthetic hands, faces, bodies or objects with Blender
             (scene=hands|faces|bodies|objects n=200 shards=4 workers=2)
  datasets   build the dataset from renders, COCO-style files, WIDER FACE annotations and Objectron's records
             (datasets build renders=RUN_DIR | coco=FILE.json | data=faces wider=FILE.txt |
             data=objects objectron='RECORDS*')
  train      train a task on a dataset (train dataset=RUN_DIR [recipe=TASK] [init=RUN_DIR|mediapipe:NAME]
             [experiment=smoke]); TASK: {tasks}
  evaluate   a checkpoint with its task's evaluation: landmarks NME / PCK / presence AUC against a
             mean-shape baseline, detectors COCO AP, gestures accuracy (evaluate checkpoint=RUN_DIR |
             model.tflite | mediapipe:NAME); face landmarks by group: evaluate fairness dataset=RUN_DIR
             [checkpoint=RUN_DIR|mediapipe:face_landmark] group_by=region; iris depth on face renders:
             evaluate iris_depth renders=RUN_DIR [checkpoint=RUN_DIR|mediapipe:iris_landmark]
  export     TFLite fp32 / fp16 / dynamic / int8 with parity, latency and a model card (export checkpoint=RUN_DIR
             quantize=int8); MediaPipe Tasks bundles: export format=task pipeline=hands|pose models=EXPORT_DIR
  run        a pipeline on video, images or a camera, with MediaPipe's models or our exports
             (run pipeline=hands|face_mesh|pose|objectron|... source=VIDEO|FOLDER|camera:N [models=mediapipe|RUN_DIR]):
             annotated.mp4, frames.jsonl, metrics.json (fps, ms per calculator, detector_fraction)
  serve-demo a landmark export in the browser on LiteRT.js (vendored from npm), on a video file or the
             webcam, landmarks drawn and fps shown (serve-demo export=RUN_DIR|mediapipe:NAME [video=FILE])
  annotate   labels in and out of other tools, and Label Studio or our editor for refining them
             (annotate import file=FILE format=coco|cvat|labelstudio topology=hand |
             annotate export labels=FILE.jsonl format=coco|cvat|labelstudio |
             annotate labelstudio labels=FILE.jsonl topology=hand): a real Label Studio from its own venv on 127.0.0.1;
             annotate serve labels=prelabels.jsonl images=DIR topology=face_mesh users=[a,b]: our mesh editor;
             annotate prelabel images=DIR topology=face_mesh [models=mediapipe|RUN_DIR]: our models' labels,
             most uncertain first; annotate agree labels=[A.jsonl,B.jsonl]: the annotators' disagreement;
             annotate loop renders=RUN_DIR topology=face_mesh: prelabel -> simulated annotators -> train, per round
  demo       all of the above on embedded defaults: about 200 renders, minutes of fine-tuning
  bench      ablation=blazepalm: the palm detector with and without its decoder and focal loss
             (bench ablation=blazepalm [dataset=RUN_DIR] [experiment=ablation]), AP table in metrics.json
  zoo        MediaPipe's published models: zoo list, zoo fetch [name ...] [source=wheel|url],
             zoo parity [name ...] [renders=DIR] (our Keras models with imported weights vs the .tflite)

Every verb takes key=value overrides of the config tree (`blazeforge VERB --help` lists its keys),
experiment=smoke|demo|full|ablation, run_dir=PATH (default outputs/VERB/DATE/TIME) and verbose=true
(the libraries' logs on the terminal too; they always go to the run's log.txt). Re-running a verb
on the same run_dir resumes it: finished renders, dataset builds and epochs are kept.
"""
ZOO_ACTIONS = {"list": set(), "fetch": {"source"}, "parity": {"renders", "run_dir"}}


def usage() -> str:
    from blazeforge import recipes

    return USAGE.format(tasks=" | ".join(recipes.names()))


def verb_help(verb: str) -> str:
    """The verb's section of config.yaml, with its comments, and the config groups' choices."""
    from blazeforge import recipes
    from blazeforge.config import CONFIG_DIR, GROUPS, group_options, section_of

    lines = (CONFIG_DIR / "config.yaml").read_text().splitlines()
    section, inside = [], False
    for line in lines:
        if line.startswith(f"{section_of(verb)}:"):
            inside = True
        elif inside and line and not line.startswith((" ", "#")):
            break
        if inside:
            section.append(line)
    body = "\n".join(section) if section else f"{verb}: (no keys of its own; see the groups below)"
    groups = "\n".join(f"  {g}={'|'.join(group_options(g, recipes.config_dirs()))}" for g in GROUPS)
    return (
        f"usage: blazeforge {verb} [key=value ...]\n\nkeys of this verb (bare keys set these):\n{body}\n\n"
        f"config groups:\n{groups}\n\nalso: run_dir=PATH seed=N verbose=true, and any dotted key of the tree, "
        f"e.g. trainer.epochs=3 recipe.width=lite"
    )


def verb_args(verb: str, args: list[str]) -> list[str]:
    """The verb's words as config overrides: `evaluate fairness ...` -> evaluate.report=fairness,
    `datasets build ...` -> its keys, and each verb's default choices."""
    if verb == "evaluate" and args and args[0] in ("fairness", "iris_depth", "realism"):
        args = [f"evaluate.report={args[0]}", *args[1:]]
    if verb == "annotate":
        from blazeforge.annotation.actions import ACTIONS

        if not args or args[0] not in ACTIONS:
            raise BlazeforgeError(
                "annotate", f"expected an action: blazeforge annotate {' | '.join(ACTIONS)} key=value ..."
            )
        args = [f"annotate.action={args[0]}", *args[1:]]
    if verb == "datasets":
        if not args or args[0] != "build":
            raise BlazeforgeError("datasets", "expected an action: blazeforge datasets build renders=RUN_DIR ...")
        args = args[1:]
    if verb == "demo" and not any(a.startswith("experiment=") for a in args):
        args = ["experiment=demo", *args]
    if verb == "bench" and not any(a.startswith("recipe=") for a in args):
        args = ["recipe=palm_detection", *args]
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    verb, args = argv[0], argv[1:]
    if verb in ("-V", "--version"):
        from blazeforge import __version__

        print(__version__)
        return 0
    logging.basicConfig(level=os.environ.get("BLAZEFORGE_LOG", "INFO"), format="%(message)s")
    try:
        from blazeforge import engine

        if verb == "zoo":
            if not args or args[0] not in ZOO_ACTIONS:
                raise BlazeforgeError(
                    "zoo",
                    "expected an action: zoo list | zoo fetch [name ...] [source=wheel|url] | "
                    "zoo parity [name ...] [renders=DIR] [run_dir=DIR]",
                )
            options = dict(a.split("=", 1) for a in args[1:] if "=" in a)
            for key in sorted(set(options) - ZOO_ACTIONS[args[0]]):
                raise BlazeforgeError(
                    f"zoo {args[0]} {key}=", f"unknown option; expected one of {sorted(ZOO_ACTIONS[args[0]])}"
                )
            return engine.zoo(args[0], [a for a in args[1:] if "=" not in a], options)
        if verb not in engine.VERBS:
            raise BlazeforgeError(verb, f"unknown verb; expected one of {', '.join(engine.VERBS)}, zoo")
        if any(a in ("-h", "--help") for a in args):
            print(verb_help(verb))
            return 0
        cfg = engine.configure(verb, verb_args(verb, args))
        run_dir, metrics = engine.run_stage(verb, cfg)
        if verb != "demo":
            engine.report(verb, run_dir, metrics)
        return 0
    except BlazeforgeError as e:
        print(f"blazeforge: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blazeforge: interrupted; run the same command with run_dir=<its run dir> to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

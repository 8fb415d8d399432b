"""`blazeforge annotate loop`: the bootstrapped annotation loop, driven by simulated annotators on renders.

    blazeforge annotate loop renders=RUN_DIR topology=face_mesh rounds=3 per_round=40

The renders stand in for unlabelled real photos: their labels are hidden from the loop and only
the simulated annotators (`annotation.simulated`) see them, as the truth they aim at. The renders'
test split (by subject, as `datasets build` splits them) is the held-out reference every round's
model is scored on; the rest is the pool people label. Round 0 scores the initial model
(`annotate.init`, default MediaPipe's published face model). Each round r, in `round-RR/`:

1. prelabel/: the current model (round 1: the published one, later: round r-1's export) prelabels
   the pool images not refined yet (`annotation.prelabel`: most uncertain first);
2. refine/: the annotators refine the `per_round` most uncertain (labels.jsonl, one annotator per
   image in turn; `double` of them also by the next annotator, in second.jsonl), recording the
   seconds each image cost;
3. datasets/: every refined label so far (the first annotator's) as a dataset (`datasets build
   labels=[...]`, no test split);
4. train/: the task fine-tuned from `annotate.init` on it (the trainer's settings: cfg.trainer);
5. export/: its fp32 TFLite file, the next round's prelabeler;
6. evaluate/: the train run scored on the reference (NME in % of the unit).

Each stage is kept once finished (its metrics.json), so a killed loop resumes where it stopped.
Writes metrics.json (`rounds`: per round model and label versions, images refined, minutes
spent and per image, error; `agreement`: the annotators' disagreement on the doubly labelled
images, `annotate agree`'s figure) and report.html (error per round against the agreement, and
minutes per image).
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from blazeforge import console, runs, topology
from blazeforge.annotation.simulated import SimulatedAnnotator
from blazeforge.datasets.schema import append_jsonl, complete_lines, read_jsonl
from blazeforge.errors import BlazeforgeError

# topology -> (data group, recipe) the loop builds datasets and trains with
LOOP_TASKS = {"face_mesh": ("face_mesh", "face_mesh")}


def _configured(cfg: DictConfig, topo: str) -> DictConfig:
    """A private copy of cfg with the topology's data group and recipe (the user's own where they
    chose the same ones)."""
    from blazeforge import recipes
    from blazeforge.config import compose

    data, recipe = LOOP_TASKS[topo]
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    fresh = compose("train", [f"data={data}", f"recipe={recipe}"], recipes.config_dirs())
    with open_dict(out):
        if out.data.name != data:
            out.data = fresh.data
        if out.recipe.name != recipe:
            out.recipe = fresh.recipe
    return out


def reference_split(cfg: DictConfig, renders: Path, topo) -> tuple[list, dict]:
    """(pool: [(image path, true Sample)] outside the test split, {resolved path: true Sample} of all)."""
    from blazeforge.datasets.builder import split_items
    from blazeforge.datasets.sources import read_renders

    items = list(read_renders(renders, topo.num_keypoints, topo.name))
    splits = split_items(items, cfg)
    pool = [(path, sample) for (path, sample), split in zip(items, splits) if split != "test"]
    return pool, {path.resolve(): sample for path, sample in items}


def annotators(cfg: DictConfig) -> list[SimulatedAnnotator]:
    """The simulated annotators of annotate.annotators (a list of their fields); one line otherwise."""
    out = []
    for i, entry in enumerate(cfg.annotate.annotators):
        try:
            out.append(SimulatedAnnotator(**{"seed": int(cfg.seed), **OmegaConf.to_container(entry)}))
        except TypeError as e:
            raise BlazeforgeError(f"annotate.annotators[{i}]", f"expected fields of SimulatedAnnotator ({e})") from None
    if not out:
        raise BlazeforgeError("annotate.annotators", "expected at least one simulated annotator")
    return out


def refine(prelabels: Path, truths: dict, refined_before: set, people, per_round: int, double: float, out: Path, topo):
    """Step 2 of a round into `out` (labels.jsonl, second.jsonl, metrics.json); resumable by image."""
    done = runs.read_metrics(out)
    if done is not None:
        return done
    out.mkdir(parents=True, exist_ok=True)
    queue = [s for s in read_jsonl(prelabels, topo.num_keypoints) if _path(prelabels, s) not in refined_before]
    chosen = queue[:per_round]
    twice = math.ceil(double * len(chosen)) if len(people) > 1 else 0
    first, second = out / "labels.jsonl", out / "second.jsonl"
    complete_lines(first)
    complete_lines(second)
    have = {s.image for s in read_jsonl(first, topo.num_keypoints)} if first.is_file() else set()
    have2 = {s.image for s in read_jsonl(second, topo.num_keypoints)} if second.is_file() else set()
    seconds = []
    for i, prelabel in enumerate(chosen):
        path = _path(prelabels, prelabel)
        name = os.path.relpath(path, out.resolve())
        truth = truths[path]
        for who, file, kept in [(people[i % len(people)], first, have)] + (
            [(people[(i + 1) % len(people)], second, have2)] if i < twice else []
        ):
            refined, spent = who.refine(prelabel, truth, topo)
            refined.image, refined.meta["seconds"] = name, f"{spent:.1f}"
            if name not in kept:
                append_jsonl(file, refined)
    for record in read_jsonl(first, topo.num_keypoints):
        seconds.append(float(record.meta["seconds"]))
    metrics = {
        "images": len(seconds),
        "doubly_labelled": twice,
        "minutes": round(sum(seconds) / 60, 2),
        "minutes_per_image": round(sum(seconds) / 60 / max(len(seconds), 1), 3),
    }
    runs.write_metrics(out, metrics)
    return metrics


def _path(labels: Path, sample) -> Path:
    return (labels.parent / sample.image).resolve()


def loop(cfg: DictConfig, run_dir: Path, stage) -> dict:
    """The loop of the module docstring; returns its metrics. `stage(verb, cfg, run_dir, label)`
    runs (or keeps) one verb's stage: the engine's `stage`."""
    from blazeforge.annotation.agreement import agree
    from blazeforge.annotation.prelabel import prelabel

    a = cfg.annotate
    if str(a.topology) not in LOOP_TASKS:
        raise BlazeforgeError("annotate.topology", f"the loop runs for {' | '.join(LOOP_TASKS)}, got {a.topology!r}")
    if not a.renders or not Path(str(a.renders)).is_dir():
        raise BlazeforgeError("annotate.renders", "expected a render run directory: annotate loop renders=RUN_DIR")
    cfg = _configured(cfg, str(a.topology))
    topo = topology.get(str(a.topology))
    people = annotators(cfg)
    renders = Path(str(a.renders))
    pool, truths = reference_split(cfg, renders, topo)
    if not pool:
        raise BlazeforgeError(f"annotate.renders={renders}", "every render is in the test split; expected a pool")
    run_dir = Path(run_dir)
    with open_dict(cfg):
        cfg.datasets.renders, cfg.datasets.labels = str(renders), None
    reference = run_dir / "reference"
    stage("datasets", cfg, reference, "reference")
    cfg.evaluate.dataset, cfg.evaluate.split = str(reference), "test"
    cfg.evaluate.checkpoint = str(a.init)
    initial = stage("evaluate", cfg, run_dir / "round-00" / "evaluate", "0: score")
    rounds = [{"round": 0, "model_version": str(a.init), "labels": 0, "error": round(100 * initial["nme_2d"], 3)}]
    models, labels, refined = "mediapipe", [], set()
    for r in range(1, int(a.rounds) + 1):
        folder = run_dir / f"round-{r:02d}"
        pending = [path for path, _ in pool if path.resolve() not in refined]
        if not pending:
            console.say(f"  round {r}: every pool image is refined; stopping")
            break
        if runs.read_metrics(folder / "prelabel") is None:
            (folder / "prelabel").mkdir(parents=True, exist_ok=True)
            runs.write_metrics(folder / "prelabel", prelabel(pending, topo, folder / "prelabel", models))
            console.say(f"  {r}: prelabel {len(pending)} images by {models}")
        prelabels = folder / "prelabel" / "prelabels.jsonl"
        done = refine(prelabels, truths, refined, people, int(a.per_round), float(a.double), folder / "refine", topo)
        console.say(f"  {r}: refine  {done['images']} images, {done['minutes']:.0f} simulated minutes")
        labels.append(folder / "refine" / "labels.jsonl")
        refined |= {_path(labels[-1], s) for s in read_jsonl(labels[-1], topo.num_keypoints)}
        with open_dict(cfg):
            cfg.datasets.renders, cfg.datasets.labels = None, [str(p) for p in labels]
            cfg.data.split.test = 0.0
        stage("datasets", cfg, folder / "datasets", f"{r}: data")
        cfg.train.dataset, cfg.train.init = str(folder / "datasets"), str(a.init)
        stage("train", cfg, folder / "train", f"{r}: train")
        cfg.export.checkpoint, cfg.export.quantize = str(folder / "train"), "none"
        stage("export", cfg, folder / "export", f"{r}: export")
        cfg.evaluate.checkpoint = str(folder / "train")
        scored = stage("evaluate", cfg, folder / "evaluate", f"{r}: score")
        models = str(folder / "export")
        rounds.append(
            {
                "round": r,
                "model_version": "round-00 (published)" if r == 1 else f"round-{r - 1:02d}",
                "labels": len(refined),
                "label_version": f"round-{r:02d}",
                "images_refined": done["images"],
                "minutes": done["minutes"],
                "minutes_per_image": done["minutes_per_image"],
                "error": round(100 * scored["nme_2d"], 3),
            }
        )
    doubles = [p for p in sorted(run_dir.glob("round-*/refine/second.jsonl")) if p.stat().st_size]
    agreement = agree(labels + doubles, topo) if doubles else None
    metrics = {
        "topology": topo.name,
        "unit": topo.unit,
        "pool": len(pool),
        "reference": len(truths) - len(pool),
        "rounds": rounds,
        "agreement": agreement["agreement"] if agreement else None,
        "agreement_instances": agreement["instances"] if agreement else 0,
    }
    (run_dir / "report.html").write_text(report_html(metrics))
    return metrics


def _minutes(record: dict) -> str:
    return f"{record['minutes']:.1f}" if "minutes" in record else ""


def report_html(metrics: dict) -> str:
    """The loop's report: error per round against the annotators' agreement, and minutes per image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds, unit = metrics["rounds"], metrics["unit"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot([r["round"] for r in rounds], [r["error"] for r in rounds], "o-", color="#4c78a8", label="model")
    if metrics["agreement"] is not None:
        a.axhline(metrics["agreement"], color="#e45756", ls="--", label="annotators' agreement")
        a.axhline(1.5 * metrics["agreement"], color="#e45756", ls=":", label="1.5 x agreement")
    a.set_xticks([r["round"] for r in rounds])
    a.set_xlabel("round")
    a.set_ylabel(f"NME on the reference (% of {unit})")
    a.legend()
    later = [r for r in rounds if r["round"] > 0]
    b.bar([r["round"] for r in later], [60 * r["minutes_per_image"] for r in later], color="#72b7b2")
    b.set_xticks([r["round"] for r in later])
    b.set_xlabel("round")
    b.set_ylabel("seconds per image refined")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode()
    rows = "".join(
        f"<tr><td>{r['round']}</td><td>{html.escape(str(r['model_version']))}</td><td>{r['labels']}</td>"
        f"<td>{r.get('images_refined', '')}</td><td>{_minutes(r)}</td>"
        f"<td>{r['error']:.2f}</td></tr>"
        for r in rounds
    )
    agreement = (
        f"{metrics['agreement']:.2f}% of {unit} ({metrics['agreement_instances']} doubly labelled faces)"
        if metrics["agreement"] is not None
        else "not measured (no doubly labelled images)"
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Annotation loop</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto}}td,th{{padding:3px 10px;text-align:right}}</style>
</head><body><h1>Annotation loop: {metrics["topology"]}</h1>
<p>{metrics["pool"]} pool images refined by simulated annotators, {metrics["reference"]} held-out reference images.
Annotators' agreement: {agreement}.</p>
<img src="data:image/png;base64,{png}" alt="error and minutes per round">
<table><tr><th>round</th><th>prelabelled by</th><th>labels</th><th>refined</th><th>minutes</th>
<th>NME (% {html.escape(unit)})</th></tr>{rows}</table>
</body></html>"""

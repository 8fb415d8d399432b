"""`blazeforge annotate ACTION key=value ...`: the actions of the annotate verb.

    blazeforge annotate import file=person_keypoints.json format=coco topology=pose
    blazeforge annotate export labels=outputs/annotate/.../labels.jsonl format=cvat
    blazeforge annotate labelstudio labels=prelabels.jsonl topology=hand
    blazeforge annotate serve labels=prelabels.jsonl images=DIR topology=face_mesh users=[alice,bob]
    blazeforge annotate prelabel images=DIR topology=face_mesh [models=mediapipe|EXPORT_DIR,...]
    blazeforge annotate agree labels=[alice.jsonl,bob.jsonl] topology=face_mesh
    blazeforge annotate loop renders=RUN_DIR topology=face_mesh rounds=3 per_round=40

import: another tool's file -> labels.jsonl in the run directory (image paths relative to it).
export: our labels.jsonl -> the format's file in the run directory (image names relative to
`images`, default the labels file's folder).
labelstudio: a real Label Studio (its own venv, made on first use) on 127.0.0.1, a project with the
topology's keypoint config, the labels imported as predictions of `model_version`; it serves until
Ctrl-C (wait=false: returns at once), then pulls the finished annotations to annotations.jsonl.
Re-running on the same run_dir reuses its Label Studio data, login and project.
serve: our mesh editor (`annotation.editor`) on 127.0.0.1 with the labels as the images' prelabels,
in editor.sqlite (every save a new version); logins for `users`, with the password `password` or,
on loopback, one made per user and kept in credentials.json. It serves until Ctrl-C (wait=false:
returns at once), then writes each annotator's last version of each image to annotations.jsonl.
Re-running on the same run_dir keeps the store and adds the images it lacks.
prelabel: the runtime's models label every image of `images` into prelabels.jsonl, most uncertain
first (`annotation.prelabel`); re-running on the same run_dir labels only what is missing.
agree: the annotators' disagreement on doubly labelled images (`annotation.agreement`), in
metrics.json, where `evaluate fairness human_variance=RUN_DIR` reads it.
loop: prelabel -> simulated annotators refine -> datasets -> train -> evaluate, round after round,
on renders standing in for real photos (`annotation.loop`); resumable.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig, ListConfig

from blazeforge import console, topology
from blazeforge.annotation import interchange
from blazeforge.datasets.schema import Sample, read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.serving import until_interrupted


def _required(cfg: DictConfig, key: str, expected: str) -> Path:
    value = cfg.annotate[key]
    if not value:
        raise BlazeforgeError(f"annotate.{key}", f"expected {expected}")
    path = Path(str(value))
    if not path.exists():
        raise BlazeforgeError(path, "not found")
    return path


def _images(cfg: DictConfig, path: Path) -> Path:
    """The folder image names are relative to: annotate.images, else the file's own folder."""
    return Path(str(cfg.annotate.images)) if cfg.annotate.images else path.parent


def _rebased(samples, source: Path, target: Path, where: str):
    """Samples whose image paths, relative to folder `source`, are made relative to folder `target`."""
    out = []
    for sample in samples:
        absolute = (source / sample.image).resolve()
        name = os.path.relpath(absolute, target.resolve())
        out.append(replace(sample, image=interchange.safe_name(name, where) if where else name))
    return out


def import_labels(cfg: DictConfig, run_dir: Path) -> dict:
    path = _required(cfg, "file", "the file to import: annotate import file=FILE format=coco|cvat|labelstudio")
    topo = topology.get(str(cfg.annotate.topology))
    samples = interchange.read(path, str(cfg.annotate.format), topo)
    samples = _rebased(samples, _images(cfg, path), run_dir, "")
    labels = interchange.write(samples, run_dir / "labels.jsonl", "schema", topo)
    return {"labels": str(labels), "images": len(samples), "instances": sum(s.num_instances for s in samples)}


def export_labels(cfg: DictConfig, run_dir: Path) -> dict:
    path = _required(cfg, "labels", "our labels file: annotate export labels=FILE.jsonl format=coco")
    topo = topology.get(str(cfg.annotate.topology))
    samples = list(read_jsonl(path, topo.num_keypoints))
    images = _images(cfg, path)
    samples = _rebased(samples, path.parent, images, f"{path} (annotate.images={images})")
    fmt = str(cfg.annotate.format)
    out = interchange.write(samples, run_dir / f"labels{interchange.format_of(fmt).suffix}", fmt, topo)
    return {"file": str(out), "format": fmt, "images_dir": str(images.resolve()), "images": len(samples)}


def _to_refine(cfg: DictConfig, usage: str):
    """(topology, images folder, samples named relative to it) of annotate.labels, the labels people
    refine; `usage` is the command line the error shows where there are none."""
    path = _required(cfg, "labels", f"the labels to refine: {usage}")
    topo = topology.get(str(cfg.annotate.topology))
    images = _images(cfg, path)
    samples = _rebased(list(read_jsonl(path, topo.num_keypoints)), path.parent, images, f"{path} (images={images})")
    return topo, images, samples


def label_studio(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.annotation.labelstudio import Server

    a = cfg.annotate
    topo, images, samples = _to_refine(cfg, "annotate labelstudio labels=FILE.jsonl topology=hand")
    server = Server(run_dir / "studio", images, host=str(a.host), port=int(a.port), password=a.password)
    project_file = run_dir / "project.json"
    with server:
        if project_file.is_file():
            project = json.loads(project_file.read_text())["id"]
        else:
            project = server.create_project(f"blazeforge {topo.name} {run_dir.name}", topo)
            server.import_samples(project, samples, topo, str(a.model_version))
            project_file.write_text(json.dumps({"id": project}))  # the port may change between runs
        login = server.credentials()
        console.say(
            f"Label Studio: {server.url}/projects/{project}  login {login['username']} / password in "
            f"{run_dir / 'studio' / 'credentials.json'}"
        )
        if bool(a.wait):
            try:
                console.say("serving; Ctrl-C pulls the finished annotations and stops it")
                server.process.wait()
            except KeyboardInterrupt:
                pass
        pulled = server.pull(project, topo)
    pulled = _rebased(pulled, images, run_dir, "")
    out = interchange.write(pulled, run_dir / "annotations.jsonl", "schema", topo)
    return {
        "project": project,
        "url": f"{server.url}/projects/{project}",
        "tasks": len(samples),
        "annotations": len(pulled),
        "labels": str(out),
    }


def _editor_logins(store, users: list[str], password: str | None, credentials: Path) -> dict[str, str]:
    """Give every user a login: `password` where set, else a random one made once per user and
    kept in `credentials` (mode 0600); returns {user: password}."""
    if not users:
        raise BlazeforgeError("annotate.users", "expected at least one annotator: annotate serve users=[alice,bob]")
    kept = json.loads(credentials.read_text()) if credentials.is_file() and not password else {}
    logins = {user: password or kept.get(user) or secrets.token_urlsafe(9) for user in users}
    for user, secret in logins.items():
        store.set_password(user, secret)
    if not password:
        credentials.touch(mode=0o600)
        credentials.write_text(json.dumps({**kept, **logins}, indent=1))
    return logins


def serve_editor(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.annotation.editor import Editor
    from blazeforge.annotation.editor_store import Store

    a = cfg.annotate
    topo, images, samples = _to_refine(cfg, "annotate serve labels=prelabels.jsonl images=DIR topology=face_mesh")
    store = Store(run_dir / "editor.sqlite")
    added = store.add_images(samples)
    users = [str(u) for u in (a.users if isinstance(a.users, ListConfig) else [a.users])]
    with Editor(store, images, topo, str(a.host), int(a.port), remote_ok=bool(a.password)) as editor:
        _editor_logins(store, users, a.password, run_dir / "credentials.json")
        where = "annotate.password" if a.password else run_dir / "credentials.json"
        console.say(f"editor: {editor.url}  logins {', '.join(users)}; passwords: {where}")
        if bool(a.wait):
            console.say("serving; Ctrl-C writes the annotations and stops it")
            until_interrupted()
        url = editor.url
    rows, listed = store.latest(), store.images()
    latest = [
        replace(
            Sample.from_json(row["sample"], f"{store.path} version {row['id']}", topo.num_keypoints),
            meta={**row["sample"]["meta"], "seconds": f"{row['seconds']:.1f}", "version": str(row["id"])},
        )
        for row in rows
    ]
    out = interchange.write(_rebased(latest, images, run_dir, ""), run_dir / "annotations.jsonl", "schema", topo)
    return {
        "editor": url,
        "images": len(listed),
        "images_added": added,
        "versions": sum(i["versions"] for i in listed),
        "annotators": sorted({row["user"] for row in rows}),
        "annotations": str(out),
    }


def prelabel_images(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.annotation.prelabel import image_files, prelabel

    a = cfg.annotate
    folder = _required(cfg, "images", "the images to prelabel: annotate prelabel images=DIR topology=face_mesh")
    return prelabel(image_files(folder), topology.get(str(a.topology)), run_dir, str(a.models), int(a.max_instances))


def agree_labels(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.annotation.agreement import agree

    a = cfg.annotate
    if not a.labels:
        raise BlazeforgeError("annotate.labels", "expected labels files: annotate agree labels=[A.jsonl,B.jsonl]")
    files = [Path(str(p)) for p in (a.labels if isinstance(a.labels, ListConfig) else [a.labels])]
    for path in files:
        if not path.is_file():
            raise BlazeforgeError(path, "not found")
    return agree(files, topology.get(str(a.topology)))


def annotation_loop(cfg: DictConfig, run_dir: Path, stage) -> dict:
    from blazeforge.annotation.loop import loop

    return loop(cfg, run_dir, stage)


ACTIONS = {
    "import": import_labels,
    "export": export_labels,
    "labelstudio": label_studio,
    "serve": serve_editor,
    "prelabel": prelabel_images,
    "agree": agree_labels,
    "loop": annotation_loop,
}


STAGED = ("loop",)  # actions that run other verbs' stages: they get the engine's `stage`


def annotate(cfg: DictConfig, run_dir: Path, stage) -> dict:
    """The action cfg.annotate.action names; `stage` (engine.stage) runs the stages of STAGED ones."""
    action = str(cfg.annotate.action)
    if action not in ACTIONS:
        raise BlazeforgeError("annotate.action", f"expected {' | '.join(ACTIONS)}, got {action!r}")
    run = ACTIONS[action]
    return {"action": action, **(run(cfg, run_dir, stage) if action in STAGED else run(cfg, run_dir))}

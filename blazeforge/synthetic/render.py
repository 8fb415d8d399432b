"""`blazeforge render`: sharded, deterministic, resumable rendering of labelled frames.

Layout of a render run directory::

    shard-00000/frames/000000.png   the RGB frame
    shard-00000/masks/000000.png    uint8, i + 1 where instance i (the hand, face or person i) is visible
    shard-00000/labels.jsonl        one sample-schema record per frame, in frame order
    shard-00000/manifest.json       config, seed, shard, count, done, complete

Frame f of shard s is a pure function of (config, seed, s, f). A frame is done once its label line
is in labels.jsonl (the PNGs are written first), so a killed render loses at most the frame in
flight and re-running the same command on the same run_dir renders only what is missing. A worker
process that dies mid-shard (kill -9, the out-of-memory killer) does not hang the render: its
shards resume where they stopped in a fresh pool, up to WORKER_RETRIES times.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge import console
from blazeforge.console import progress
from blazeforge.datasets.schema import Sample, append_jsonl, complete_lines
from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)
WORKER_RETRIES = 3  # times a pool whose worker died is started again on the unfinished shards
# Scene name -> (module, class) rendering it; label versions per scene.
SCENES = {
    "hands": ("blazeforge.synthetic.hand_scene", "HandScene"),
    "faces": ("blazeforge.synthetic.face_scene", "FaceScene"),
    "bodies": ("blazeforge.synthetic.body_scene", "BodyScene"),
    "objects": ("blazeforge.synthetic.object_scene", "ObjectScene"),
}
# faces-v2: the left iris rim in MediaPipe's mirrored order (faces-v1 had it as the right one's);
# faces-v3: the points on MakeHuman's heads by the fitted binding (face_model=makehuman);
# hands-v2: MakeHuman's hand keypoints shifted along its bent bones (makehuman_hand.KEYPOINT_SHIFTS);
# bodies-v2: the pinky, index and thumb points (the hand's) move with them.
LABEL_VERSIONS = {"hands": "hands-v2", "faces": "faces-v3", "bodies": "bodies-v2", "objects": "objects-v1"}


def shard_sizes(n: int, shards: int) -> list[int]:
    """n frames spread over `shards` shards as evenly as possible."""
    return [n // shards + (i < n % shards) for i in range(shards)]


def frames_done(shard_dir: Path) -> int:
    """Complete label lines in the shard; a trailing partial line (a killed write) is cut off."""
    return complete_lines(shard_dir / "labels.jsonl")


def _validate(cfg: DictConfig) -> None:
    r = cfg.render
    if cfg.scene.name not in SCENES:
        raise BlazeforgeError("scene", f"unknown scene {cfg.scene.name!r}; expected one of {list(SCENES)}")
    for key in ("n", "shards", "workers", "resolution", "samples"):
        if not isinstance(r[key], int) or r[key] < 1:
            raise BlazeforgeError(f"render.{key}", f"expected a positive integer, got {r[key]!r}")
    if r.shards > r.n:
        raise BlazeforgeError("render.shards", f"{r.shards} shards for {r.n} frames; expected shards <= n")
    hand_model = cfg.scene.get("hand_model")  # hands: which hand
    if hand_model is not None and hand_model not in ("makehuman", "procedural"):
        raise BlazeforgeError("scene.hand_model", f"expected makehuman or procedural, got {hand_model!r}")
    face_model = cfg.scene.get("face_model")  # faces: which face
    if face_model is not None and face_model not in ("makehuman", "mediapipe_mesh"):
        raise BlazeforgeError("scene.face_model", f"expected makehuman or mediapipe_mesh, got {face_model!r}")
    if face_model == "makehuman":
        from blazeforge.synthetic.makehuman_face import EXPRESSIONS

        unknown = sorted(set(cfg.scene.expressions) - set(EXPRESSIONS))
        if unknown:
            raise BlazeforgeError(
                f"scene.expressions.{unknown[0]}", f"not an expression; expected some of {', '.join(EXPRESSIONS)}"
            )
    people = cfg.scene.get("people")  # bodies: how many
    if people is not None and not (len(people) == 2 and 1 <= people[0] <= people[1] <= 3):
        raise BlazeforgeError("scene.people", f"expected [least, most] within 1..3, got {list(people)}")
    groups = cfg.scene.get("pose_groups")  # bodies: the pose library's groups and their shares
    if groups is not None:
        from blazeforge.synthetic.body_poses import GROUPS

        known = set(groups) <= set(GROUPS)
        shares = [v for v in groups.values() if isinstance(v, int | float) and v >= 0]
        if not known or len(shares) != len(groups) or not sum(shares) > 0:
            raise BlazeforgeError(
                "scene.pose_groups",
                f"expected shares >= 0 (not all 0) of {', '.join(GROUPS)}; got "
                + ", ".join(f"{k} {v}" for k, v in groups.items()),
            )
    category = cfg.scene.get("category")  # objects: which category
    if category is not None:
        from blazeforge.synthetic.objects import CATEGORIES

        if category not in CATEGORIES:
            raise BlazeforgeError("scene.category", f"expected one of {', '.join(CATEGORIES)}, got {category!r}")
        objects = cfg.scene.objects
        if not (len(objects) == 2 and 1 <= objects[0] <= objects[1] <= 3):
            raise BlazeforgeError("scene.objects", f"expected [least, most] within 1..3, got {list(objects)}")
    length = cfg.scene.get("sequence_length", 1)
    if not isinstance(length, int) or length < 1:
        raise BlazeforgeError("scene.sequence_length", f"expected a positive integer, got {length!r}")
    kinds = cfg.scene.occluders.get("kinds")  # faces: which occluders
    if kinds is not None and (not len(kinds) or not set(kinds) <= {"glasses", "hair", "hand"}):
        raise BlazeforgeError(
            "scene.occluders.kinds", f"expected a non-empty list of glasses, hair, hand; got {list(kinds)}"
        )


def render(cfg: DictConfig, run_dir: Path) -> dict:
    """Render cfg.render.n frames of cfg.scene into run_dir; returns counts and the frame rate."""
    _validate(cfg)
    from blazeforge.synthetic.assets import HDRI_SUFFIXES, IMAGE_SUFFIXES, list_files

    list_files(cfg.scene.lighting.hdri_dir, HDRI_SUFFIXES, "scene.lighting.hdri_dir")  # fail before forking
    list_files(cfg.scene.background.image_dir, IMAGE_SUFFIXES, "scene.background.image_dir")

    run_dir = Path(run_dir)
    sizes = shard_sizes(cfg.render.n, cfg.render.shards)
    todo = _unfinished(run_dir, sizes)
    missing = sum(count - done for _, done, count in todo)
    log.info("render: %d frames in %d shards, %d to render", cfg.render.n, len(sizes), missing)
    plain = OmegaConf.to_container(cfg, resolve=True)
    workers = min(cfg.render.workers, max(len(todo), 1))
    threads = max(1, (os.cpu_count() or 1) // workers)
    start = time.time()
    with progress("render", missing, "frames") as advance:
        if workers == 1 or not todo:
            for job in todo:
                _render_shard(plain, run_dir, *job, threads=threads, advance=advance)
        else:
            for attempt in range(WORKER_RETRIES + 1):
                if not _render_in_pool(plain, run_dir, todo, workers, threads, advance):
                    break
                todo = _unfinished(run_dir, sizes)
                if attempt == WORKER_RETRIES:
                    raise BlazeforgeError(
                        "render", f"render workers died {attempt + 1} times; {len(todo)} shards unfinished"
                    )
                console.say(f"warning: a render worker died; its shards resume where they stopped ({len(todo)} left)")
    seconds = time.time() - start
    return {
        "frames": cfg.render.n,
        "rendered": missing,
        "shards": len(sizes),
        "seconds": round(seconds, 2),
        "frames_per_second": round(missing / seconds, 3) if missing else None,
        "run_dir": str(run_dir),
    }


def _unfinished(run_dir: Path, sizes: list[int]) -> list[tuple[int, int, int]]:
    """(shard, frames done, frames in it) of the shards not finished yet."""
    todo = []
    for shard, count in enumerate(sizes):
        done = frames_done(run_dir / f"shard-{shard:05d}")
        if done < count:
            todo.append((shard, done, count))
    return todo


def _render_in_pool(plain: dict, run_dir: Path, todo: list, workers: int, threads: int, advance) -> bool:
    """Render the shards of `todo` in `workers` spawned processes; True where a worker died (a kill,
    the out-of-memory killer) and left shards unfinished; a worker's own error is raised here."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        queue = manager.Queue()
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(_render_shard_worker, plain, str(run_dir), *job, threads, queue) for job in todo]
            while not all(f.done() for f in futures):
                while not queue.empty():
                    advance(queue.get())
                time.sleep(0.2)
            while not queue.empty():
                advance(queue.get())
    died = False
    for future in futures:
        if isinstance(future.exception(), BrokenProcessPool):
            died = True
        elif future.exception() is not None:
            raise future.exception()
    return died


def _render_shard_worker(plain: dict, run_dir: str, shard: int, done: int, count: int, threads: int, queue) -> None:
    # A parent that imported bpy hands its sys.path on to spawned workers, Blender's script folders
    # included, whose inner `bpy` module then shadows the wheel's package (No module named '_bpy').
    sys.path[:] = [p for p in sys.path if not ("scripts" in Path(p).parts and {"bpy", "blender"} & set(Path(p).parts))]
    _render_shard(plain, Path(run_dir), shard, done, count, threads=threads, advance=queue.put)


def _render_shard(plain: dict, run_dir: Path, shard: int, done: int, count: int, threads: int, advance) -> None:
    """Render frames done..count-1 of one shard, appending their labels; then write the manifest."""
    import importlib

    cfg = OmegaConf.create(plain)
    module, name = SCENES[cfg.scene.name]
    scene_class = getattr(importlib.import_module(module), name)
    shard_dir = run_dir / f"shard-{shard:05d}"
    (shard_dir / "frames").mkdir(parents=True, exist_ok=True)
    (shard_dir / "masks").mkdir(exist_ok=True)
    start = time.time()
    scene = scene_class(cfg.scene, cfg.render.resolution, cfg.render.samples, threads=threads)
    length = int(cfg.scene.get("sequence_length", 1))
    for frame in range(done, count):
        clip, step = divmod(frame, length)
        rng = np.random.default_rng([cfg.seed, shard, clip])  # a clip's frames share their scene
        name = f"{frame:06d}.png"
        paths = shard_dir / "frames" / name, shard_dir / "masks" / name
        labels = scene.render(rng, *paths, step=step) if length > 1 else scene.render(rng, *paths)
        subject = f"{cfg.seed}-{shard}-{clip}"
        append_jsonl(shard_dir / "labels.jsonl", _sample(labels, name, subject, cfg.seed, shard, frame, cfg.scene.name))
        advance(1)
    manifest = {
        "scene": plain["scene"],
        "render": plain["render"],
        "seed": cfg.seed,
        "shard": shard,
        "count": count,
        "done": count,
        "complete": True,
        "label_version": LABEL_VERSIONS[cfg.scene.name],
        "seconds": round(time.time() - start, 2),
    }
    (shard_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


META = (
    "skin_tone",
    "gesture",
    "expression",
    "background",
    "pose",
    "people",
    "view",
    "identity",
    "outfit",
    "head_pose",
    "category",
    "object",
    "objects",
)


def _sample(labels: dict, name: str, subject: str, seed: int, shard: int, frame: int, scene: str) -> Sample:
    """The sample record of a scene's labels: one instance (keypoints [K, 3], box [4], handedness)
    or several (keypoints [N, K, 3], boxes [N, 4], auxiliary [N, A, 2], cuboid, plane); `subject`
    names what frames must share a split (a frame, or a clip of them)."""
    single = labels["keypoints"].ndim == 2

    def instances(value):
        value = np.asarray(value)
        return value[None] if single else value

    kp = instances(labels["keypoints"]).astype(np.float32)
    n = len(kp)
    return Sample(
        image=f"frames/{name}",
        mask=f"masks/{name}",
        width=labels["size"],
        height=labels["size"],
        keypoints=kp,
        keypoint_mask=np.ones(kp.shape, bool),
        visibility=instances(labels["visibility"]),
        boxes=instances(labels["box"] if single else labels["boxes"]),
        presence=np.ones(n, np.float32),
        handedness=instances(labels["handedness"]) if "handedness" in labels else np.full(n, 0.5, np.float32),
        keypoints_camera=instances(labels["keypoints_camera"]).astype(np.float32),
        auxiliary=labels.get("auxiliary"),
        camera=labels["camera"],
        cuboid=labels.get("cuboid"),
        plane=labels.get("plane"),
        meta={
            "source": "synthetic",
            "subject_id": f"synthetic-{subject}",
            **{k: v for k, v in labels["meta"].items() if k in META},
            "scene_seed": f"{seed}-{shard}-{frame}",
            "label_version": LABEL_VERSIONS[scene],
        },
    )

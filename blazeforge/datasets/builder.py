"""The sample schema as a TFDS dataset: `blazeforge datasets build` and `load`.

`build(cfg, run_dir)` reads the configured sources (render shards, labels.jsonl files, COCO-style files, WIDER FACE
annotations, Objectron's records) for the topology cfg.data.topology, clips boxes and skips or rejects unusable
instances (`sources.check_instances`, cfg.datasets.invalid), splits them without leaks
(`splits.assign_splits` on the `data.split.by` meta field), and writes a TFDS dataset with
`SampleDataset` (a GeneratorBasedBuilder) under `run_dir/tfds/`, plus `run_dir/dataset.json`
(topology, counts per split and source, instances skipped by problem, boxes clipped, images
without an instance). `load(dataset_dir, split)` reads it back as a
`tf.data.Dataset` of sample dicts. Nothing is downloaded: the builder's examples come from local
files handed to it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.datasets.schema import CUBOID_SHAPES
from blazeforge.datasets.sources import (
    PROBLEMS,
    check_instances,
    read_coco,
    read_labels,
    read_renders,
    read_wider,
)
from blazeforge.datasets.splits import assign_splits
from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
META_FIELDS = ("source", "subject_id", "skin_tone", "region", "gesture", "category")


def _jpeg_source(path):
    """A JPEG file goes in as it is; any other image is decoded, and TFDS stores it as JPEG."""
    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        return str(path)
    import cv2

    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


@functools.cache
def _builder_class():
    """The TFDS builder class, defined once per process (TFDS registers classes by name)."""
    import tensorflow_datasets as tfds

    class SampleDataset(tfds.core.GeneratorBasedBuilder):
        """Samples in blazeforge's schema (one record per image, N instances of K keypoints)."""

        VERSION = tfds.core.Version("1.6.0")
        RELEASE_NOTES = {
            "1.0.0": "The sample schema: keypoints, masks, visibility, boxes, flags, camera, meta.",
            "1.1.0": "Images stored as JPEG (quality 95): 3x cheaper to decode than PNG.",
            "1.2.0": "K keypoints of the dataset's topology (21 hands, 6 face detection).",
            "1.3.0": "The instance mask (PNG bytes, i + 1 on instance i; empty where none).",
            "1.4.0": "auxiliary [N, A, 2] where the topology has A extra points (BlazePose: 2), NaN where unknown.",
            "1.5.0": "keypoints_camera [N, K, 3]: camera-space metres (renders), NaN where unknown.",
            "1.6.0": "cuboid_rotation [N, 3, 3], cuboid_translation, cuboid_scale [N, 3], plane [6] (cuboid).",
        }

        def __init__(
            self,
            *,
            num_keypoints: int = 21,
            num_auxiliary: int = 0,
            cuboids: bool = False,
            records: dict | None = None,
            **kwargs,
        ):
            self._records = records or {}
            self._num_keypoints = num_keypoints
            self._num_auxiliary = num_auxiliary
            self._cuboids = cuboids
            super().__init__(**kwargs)

        def _info(self):
            f = tfds.features
            k = self._num_keypoints
            features = {
                "image": f.Image(shape=(None, None, 3), encoding_format="jpeg"),
                "keypoints": f.Tensor(shape=(None, k, 3), dtype=np.float32),
                "keypoint_mask": f.Tensor(shape=(None, k, 3), dtype=np.bool_),
                "keypoints_camera": f.Tensor(shape=(None, k, 3), dtype=np.float32),
                "visibility": f.Tensor(shape=(None, k), dtype=np.float32),
                "boxes": f.Tensor(shape=(None, 4), dtype=np.float32),
                "presence": f.Tensor(shape=(None,), dtype=np.float32),
                "handedness": f.Tensor(shape=(None,), dtype=np.float32),
                "camera": f.Tensor(shape=(4,), dtype=np.float32),
                "mask": f.Tensor(shape=(), dtype=np.object_),
                **{name: f.Text() for name in META_FIELDS},
            }
            if self._num_auxiliary:  # a zero-sized dimension crashes TensorFlow's serializer
                features["auxiliary"] = f.Tensor(shape=(None, self._num_auxiliary, 2), dtype=np.float32)
            if self._cuboids:
                for name, shape in CUBOID_SHAPES.items():
                    features[f"cuboid_{name}"] = f.Tensor(shape=(None, *shape), dtype=np.float32)
                features["plane"] = f.Tensor(shape=(6,), dtype=np.float32)
            return self.dataset_info_from_configs(
                features=f.FeaturesDict(features), description="blazeforge sample schema"
            )

        def _split_generators(self, dl_manager):
            return {split: self._generate_examples(items) for split, items in self._records.items() if items}

        def _generate_examples(self, items):
            for key, (path, s) in items:
                cam = s.camera or {}
                yield (
                    key,
                    {
                        "image": _jpeg_source(path),
                        "keypoints": s.keypoints,
                        "keypoint_mask": s.keypoint_mask,
                        "keypoints_camera": _keypoints_camera(s),
                        "visibility": s.visibility,
                        "boxes": s.boxes,
                        "presence": s.presence,
                        "handedness": s.handedness,
                        "camera": np.array([cam.get(c, 0.0) for c in ("fx", "fy", "cx", "cy")], np.float32),
                        "mask": Path(s.mask).read_bytes() if s.mask else b"",
                        **{name: s.meta.get(name, "") for name in META_FIELDS},
                        **({"auxiliary": _auxiliary(s, self._num_auxiliary)} if self._num_auxiliary else {}),
                        **(_cuboid_features(s) if self._cuboids else {}),
                    },
                )

    return SampleDataset


def _keypoints_camera(sample) -> np.ndarray:
    """The sample's camera-space keypoints [N, K, 3] (metres), NaN where it has none (real photos)."""
    if sample.keypoints_camera is not None:
        return np.asarray(sample.keypoints_camera, np.float32)
    return np.full(np.shape(sample.keypoints), np.nan, np.float32)


def _cuboid_features(sample) -> dict:
    """The sample's cuboid arrays (cuboid_rotation [N, 3, 3], cuboid_translation and cuboid_scale
    [N, 3]) and plane [6] (point, normal), NaN where it has none."""
    n = sample.num_instances
    out = {
        f"cuboid_{name}": np.asarray(sample.cuboid[name], np.float32)
        if sample.cuboid is not None
        else np.full((n, *shape), np.nan, np.float32)
        for name, shape in CUBOID_SHAPES.items()
    }
    plane = sample.plane
    out["plane"] = (
        np.concatenate([plane["point"], plane["normal"]]).astype(np.float32)
        if plane is not None
        else np.full(6, np.nan, np.float32)
    )
    return out


def _auxiliary(sample, count: int) -> np.ndarray:
    """The sample's auxiliary points [N, count, 2] (pixels), NaN where it has none (real photos)."""
    if sample.auxiliary is not None and sample.auxiliary.shape[1] == count:
        return sample.auxiliary.astype(np.float32)
    return np.full((sample.num_instances, count, 2), np.nan, np.float32)


def _sources(cfg: DictConfig, num_keypoints: int, run_dir: Path) -> list:
    from blazeforge import topology

    d = cfg.datasets
    items = []
    if d.objectron:
        if str(cfg.data.topology) != "cuboid":
            raise BlazeforgeError(f"objectron={d.objectron}", "Objectron's records hold boxes: expected data=objects")
        from blazeforge.datasets.objectron_records import read_objectron

        items += list(read_objectron(d.objectron, run_dir / "objectron_images"))
    if d.renders:
        items += list(read_renders(d.renders, num_keypoints, str(cfg.data.topology)))
    if d.labels:
        items += list(read_labels(d.labels, num_keypoints))
    if d.coco:
        coco_points = topology.get(str(cfg.data.topology)).coco_points
        items += list(read_coco(d.coco, d.coco_images, num_keypoints, coco_points))
    if d.wider:
        items += list(read_wider(d.wider, d.wider_images, num_keypoints))
    if not d.renders and not d.labels and not d.coco and not d.wider and not d.objectron:
        raise BlazeforgeError(
            "datasets",
            "no source given: expected renders=RUN_DIR, labels=FILE.jsonl, coco=FILE.json, "
            "wider=wider_face_train_bbx_gt.txt and/or objectron='RECORDS*'",
        )
    return items


def split_items(items: list, cfg: DictConfig) -> list[str]:
    """The split of each (image path, Sample) the way `build` splits them: by the `data.split.by`
    meta field (else the image path), cfg.data.split.val / test, cfg.seed."""
    split_cfg = cfg.data.split
    keys = [s.meta.get(split_cfg.by) or f"{path}" for path, s in items]
    try:
        return assign_splits(keys, split_cfg.val, split_cfg.test, cfg.seed)
    except ValueError as e:
        raise BlazeforgeError("data.split", str(e)) from None


def _plain(value):
    """A config value as JSON takes it (a list of labels files as a list)."""
    from omegaconf import ListConfig

    return [str(v) for v in value] if isinstance(value, ListConfig) else value


def build(cfg: DictConfig, run_dir: Path) -> dict:
    """Build the TFDS dataset of cfg's sources into run_dir; a finished run_dir is left as it is."""
    run_dir = Path(run_dir)
    summary_path = run_dir / "dataset.json"
    if summary_path.is_file():
        log.info("datasets: %s is already built", run_dir)
        return summary(run_dir)
    import tensorflow_datasets as tfds

    from blazeforge import topology

    landmarks = topology.get(str(cfg.data.topology))
    k = landmarks.num_keypoints
    items, problems = [], Counter()
    for path, sample in _sources(cfg, k, run_dir):
        sample, counts = check_instances(sample, str(path), str(cfg.datasets.invalid))
        problems.update(counts)
        problems["images without an instance"] += sample.num_instances == 0
        items.append((path, sample))
    if not items:
        raise BlazeforgeError("datasets", "the sources hold no image")
    for problem in PROBLEMS:
        if problems[problem]:
            log.warning("datasets: skipped %d instances with a %s (datasets.invalid=skip)", problems[problem], problem)
    splits = split_items(items, cfg)
    records = {split: [] for split in SPLITS}
    for i, ((path, sample), split) in enumerate(zip(items, splits)):
        records[split].append((f"{i:08d}", (path, sample)))
    builder = _builder_class()(
        num_keypoints=k,
        num_auxiliary=len(landmarks.auxiliary),
        cuboids=landmarks.name == "cuboid",
        records=records,
        data_dir=str(run_dir / "tfds"),
    )
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    )
    counts = {split: dict(Counter(s.meta.get("source", "") for _, (_, s) in records[split])) for split in SPLITS}
    result = {
        "topology": str(cfg.data.topology),
        "splits": {split: len(records[split]) for split in SPLITS},
        "by_source": counts,
        "split_by": cfg.data.split.by,
        "tfds_dir": str(Path(builder.data_dir).relative_to(run_dir)),
        "sources": {name: _plain(cfg.datasets[name]) for name in ("renders", "labels", "coco", "wider", "objectron")},
        "skipped": {problem: problems[problem] for problem in PROBLEMS},
        "boxes_clipped": problems["clipped"],
        "images_without_instances": problems["images without an instance"],
    }
    summary_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def load(dataset_dir: str | Path, split: str, decode_images: bool = True):
    """The `split` of a built dataset as a tf.data.Dataset of sample dicts (image uint8 [H, W, 3], ...).

    decode_images=False leaves "image" as the encoded JPEG bytes (cheaper to shuffle; decode later).
    """
    import tensorflow_datasets as tfds

    dataset_dir = Path(dataset_dir)
    info = summary(dataset_dir)
    if not info["splits"].get(split):
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {split!r} is empty")
    builder = tfds.builder_from_directory(str(dataset_dir / info["tfds_dir"]))
    decoders = None if decode_images else {"image": tfds.decode.SkipDecoding()}
    return builder.as_dataset(split=split, shuffle_files=False, decoders=decoders)


def decode_mask(png) -> np.ndarray | None:
    """A sample's "mask" (PNG bytes) as uint8 [H, W] (i + 1 on instance i); None where it has none (b"")."""
    import cv2

    png = np.asarray(png).item()  # bytes, also from tf.numpy_function's 0-d array
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE) if png else None


def require_topology(dataset_dir: str | Path, needs: str, who: str) -> dict:
    """The dataset's summary, or a one-line error when its labels are not of topology `needs`
    (datasets built before the topology was recorded hold hands)."""
    info = summary(dataset_dir)
    found = info.get("topology", "hand")
    if found != needs:
        raise BlazeforgeError(f"dataset={dataset_dir}", f"holds {found} labels; {who} needs {needs} labels")
    return info


def summary(dataset_dir: str | Path) -> dict:
    """The dataset.json of a datasets run directory: split counts, counts by source, sources."""
    path = Path(dataset_dir) / "dataset.json"
    if not path.is_file():
        raise BlazeforgeError(f"dataset={dataset_dir}", "expected a datasets run directory holding dataset.json")
    return json.loads(path.read_text())

"""SSD detectors in MediaPipe's layout: BlazePalm (recipe palm_detection) and BlazeFace short and
full range (face_detection, face_detection_full), one recipe family over shared parts.

recipe.detector names the published detector a model replaces (`DETECTORS`): its anchors and
decoding options (`geometry.anchors`, the same numpy code as the runtime's), its architecture
(`models.blazepalm`, `models.blazeface`) and input range, and what it detects in a labelled
sample (`instances`): a palm box and 7 keypoints derived from 21 hand landmarks, or a face's box
and its 6 keypoints as labelled (unlabelled keypoints are masked out of the loss). Instances their
render mask shows less than data.min_visible of (`hidden`: a hand behind an occluder) are ignore
regions in training and evaluation.

Model (`build_model`): the detector's architecture at its input size, BatchNorm after its
convolutions (trained from scratch; folded on export), the regressor outputs scaled by
recipe.regressor_scale; palm: recipe.width full | lite and recipe.decoder fpn | none (the
ablation). With recipe.architecture naming the published file (set by
init=mediapipe:palm_detection_full and the like): its layers as published, to fine-tune its
weights (width and decoder then do not apply). Input float32 [B, S, S, 3] in the published input
range; outputs in MediaPipe's layout, so that an export is a drop-in for the published file:
- "regressors" [B, A, 4 + 2K]: dx, dy, w, h of the box and (dx, dy) of K keypoints per anchor, in
  input pixels relative to the anchor (`geometry.matching.encode` / `geometry.detections.decode`);
- "classificators" [B, A, 1]: logits.

Losses (recipe.loss): classification is `focal` (alpha, gamma; the published choice; the classifier
biases start at the logit of recipe.loss.prior) or `ce` (binary cross-entropy with hard-negative
mining, `negatives_per_positive` negatives per positive, the hardest first); both normalized by the
number of positive anchors and blind to ignored anchors. Regression is Huber on the positive
anchors' labelled values in units of the input size (delta recipe.loss.huber_delta; the box's 4
values weighted recipe.loss.box_weight against a keypoint coordinate), weighted by
recipe.loss.regression.
Targets (`pack_targets`): "regressors" [B, A, 2V] (V encoded values, then V weights: 1 for a
positive anchor's box and labelled keypoints), "classificators" [B, A, 1] (1 positive,
0 background, -1 ignored).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops
from omegaconf import DictConfig

from blazeforge.geometry import anchors as anchor_specs
from blazeforge.geometry.anchors import DetectorSpec
from blazeforge.topology.hand import PALM_KEYPOINTS

OUTPUTS = ("regressors", "classificators")


@dataclass(frozen=True)
class Detector:
    """What one published detector is: its options, input and what it finds in a sample.

    topology: the dataset's landmark set; keypoints: the indices of it the detector regresses, in
    its output order; box: "palm" (a square from the keypoints, `topology.hand.palm_label`) or
    "labelled" (the sample's box); flip: whether a horizontal flip swaps the topology's left/right
    keypoints (faces) or keeps them (a mirrored left palm is a right palm, same order; palm boxes
    are recomputed from the mirrored landmarks).
    """

    spec: DetectorSpec
    input_range: tuple[float, float]
    topology: str
    keypoints: tuple[int, ...]
    box: str
    flip: bool


DETECTORS = {
    "PALM_DETECTION": Detector(anchor_specs.PALM_DETECTION, (0.0, 1.0), "hand", PALM_KEYPOINTS, "palm", flip=False),
    "FACE_DETECTION_SHORT_RANGE": Detector(
        anchor_specs.FACE_DETECTION_SHORT_RANGE, (-1.0, 1.0), "face_keypoints", tuple(range(6)), "labelled", flip=True
    ),
    "FACE_DETECTION_FULL_RANGE": Detector(
        anchor_specs.FACE_DETECTION_FULL_RANGE, (-1.0, 1.0), "face_keypoints", tuple(range(6)), "labelled", flip=True
    ),
}


def detector(name: str) -> Detector:
    """The entry of DETECTORS called `name`; a one-line error naming the choices otherwise."""
    from blazeforge.errors import BlazeforgeError

    if name not in DETECTORS:
        raise BlazeforgeError("recipe.detector", f"unknown detector {name!r}; expected one of {sorted(DETECTORS)}")
    return DETECTORS[name]


def min_visible(cfg: DictConfig) -> float:
    """data.min_visible: the share of an instance its render mask must show for it to count (0: all count)."""
    return float(cfg.data.get("min_visible", 0.0))


def hidden(kind: Detector, keypoints, keypoint_mask, segmentation, min_visible: float) -> np.ndarray:
    """[N] bool: the instances that `segmentation` shows less than `min_visible` of.

    An instance's region is the convex hull of its detector keypoints (the 7 palm landmarks, the 6
    face keypoints; keypoints [N, K, >=2] in image pixels, keypoint_mask [N, K, >=1]), the part in
    the image; segmentation uint8 [H, W] holds i + 1 on instance i's visible pixels (a render's
    mask: the hand or face itself hides none of it, an occluder in front does). Without a
    segmentation (real photos), with min_visible 0 or under 3 labelled keypoints: not hidden.
    """
    import cv2

    out = np.zeros(len(keypoints), bool)
    if segmentation is None or min_visible <= 0:
        return out
    index = list(kind.keypoints)
    for i, (kp, mask) in enumerate(zip(keypoints, keypoint_mask)):
        points = np.asarray(kp, np.float64)[index, :2][np.asarray(mask)[index, 0].astype(bool)]
        if len(points) < 3:
            continue
        region = np.zeros(segmentation.shape[:2], np.uint8)
        cv2.fillConvexPoly(region, cv2.convexHull(np.round(points).astype(np.int32)), 1)
        inside = region.astype(bool)
        out[i] = inside.any() and (segmentation[inside] == i + 1).mean() < min_visible
    return out


def instances(
    kind: Detector,
    keypoints,
    keypoint_mask,
    boxes,
    to_units: Callable,
    scale: float,
    flip: bool = False,
    hidden: np.ndarray | None = None,
):
    """(boxes [G, 4] x0, y0, x1, y1, points [G, k, 2], point_mask [G, k], ignore [G]) of what `kind`
    detects.

    keypoints [N, K, >=2], keypoint_mask [N, K, >=1] and boxes [N, 4] in image pixels; to_units maps
    pixel xy [M, 2] to the output's units (the identity for image pixels; a training view's crop in
    [0, 1]) and scale is how lengths change under it (sizes of labelled boxes). flip mirrors x in
    [0, 1] units and swaps left and right keypoints where the kind says so. Palms need all 7
    landmarks labelled; other instances without them are left out. ignore: the instance is in
    `hidden` [N] (see `hidden`): an ignore region, neither to be found nor a false detection.
    """
    from blazeforge import topology
    from blazeforge.topology.hand import palm_label

    index = list(kind.keypoints)
    hidden = np.zeros(len(keypoints), bool) if hidden is None else np.asarray(hidden, bool)
    out_boxes, out_points, out_mask, out_ignore = [], [], [], []
    for kp, mask, box, ignore in zip(keypoints, keypoint_mask, boxes, hidden):
        labelled = np.asarray(mask)[index, 0].astype(bool)
        if kind.box == "palm":
            if not labelled.all():
                continue
            xy = to_units(np.asarray(kp, np.float64)[:, :2])
            if flip:
                xy[:, 0] = 1.0 - xy[:, 0]
            b, points = palm_label(xy)
        else:
            x0, y0, x1, y1 = np.asarray(box, np.float64)
            centre = to_units(np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
            half = np.array([x1 - x0, y1 - y0]) * scale / 2
            points = to_units(np.asarray(kp, np.float64)[index, :2])
            if flip:
                centre[0], points[:, 0] = 1.0 - centre[0], 1.0 - points[:, 0]
            if flip and kind.flip:
                swap = [index.index(i) for i in np.asarray(topology.get(kind.topology).flip_permutation())[index]]
                points, labelled = points[swap], labelled[swap]
            b = np.concatenate([centre - half, centre + half])
        out_boxes.append(b)
        out_points.append(points)
        out_mask.append(labelled if kind.box != "palm" else np.ones(len(index), bool))
        out_ignore.append(bool(ignore))
    k = len(index)
    return (
        np.array(out_boxes, np.float64).reshape(-1, 4),
        np.array(out_points, np.float64).reshape(-1, k, 2),
        np.array(out_mask, bool).reshape(-1, k),
        np.array(out_ignore, bool),
    )


def build_model(recipe: DictConfig) -> keras.Model:
    """The detector of recipe.detector at its input size, for training from scratch."""
    from blazeforge import zoo
    from blazeforge.errors import BlazeforgeError

    kind = detector(str(recipe.detector))
    size = int(recipe.input_size)
    if size != kind.spec.anchors.input_size[0]:
        raise BlazeforgeError(
            "recipe.input_size",
            f"expected {kind.spec.anchors.input_size[0]} (the anchors of {recipe.detector} are for it), got {size}",
        )
    zoo.avoid_remapper_crashes()  # PReLU and bias-only BlazeBlocks under TF 2.20's Grappler
    if recipe.get("architecture", "blazeforge") != "blazeforge":
        from blazeforge.recipes import published_model

        return published_model(recipe)  # the trainer loads its weights (init=mediapipe:NAME)
    scale = float(recipe.regressor_scale)
    if recipe.detector == "PALM_DETECTION":
        from blazeforge.models.blazepalm import blazepalm_model

        if recipe.width not in ("full", "lite") or recipe.get("decoder") not in ("fpn", "none"):
            raise BlazeforgeError(
                "recipe",
                f"expected width full | lite and decoder fpn | none, got {recipe.width!r} and {recipe.decoder!r}",
            )
        model = blazepalm_model(recipe.width, size, recipe.decoder, scale, norm=True)
    else:
        from blazeforge.models import blazeface

        build = (
            blazeface.blazeface_short_range_model
            if recipe.detector == "FACE_DETECTION_SHORT_RANGE"
            else blazeface.blazeface_full_range_model
        )
        model = build(size, norm=True, regressor_scale=scale)
    # RetinaNet's head initialization: kernels N(0, 0.01), so that every anchor starts at
    # P(object) = recipe.loss.prior (the classifier biases) and at zero offsets, instead of the
    # background anchors' noise swamping the first steps. (Full range: the prior goes on the
    # depthwise convolution that ends its classifier head.)
    prior = float(recipe.loss.prior)
    names = {layer.name for layer in model.layers}
    rng = keras.random.SeedGenerator(0)
    for layer in model.layers:
        last = f"{layer.name}_depthwise" not in names  # the convolution that ends its head
        if not layer.name.startswith(("classifier", "regressor")) or getattr(layer, "bias", None) is None or not last:
            continue
        kernel = layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel
        kernel.assign(keras.random.normal(kernel.shape, stddev=0.01, seed=rng))
        logit = math.log(prior / (1 - prior)) if layer.name.startswith("classifier") else 0.0
        layer.bias.assign(ops.full(layer.bias.shape, logit))
    return model


# ---- losses: plain functions of tensors -------------------------------------------------------


def focal_loss(labels, logits, alpha: float = 0.25, gamma: float = 2.0):
    """Sigmoid focal loss summed over anchors, over the number of positives. labels, logits [B, A, 1];
    labels 1 / 0 / -1 (ignored)."""
    positive = ops.cast(labels > 0.5, "float32")
    valid = ops.cast(labels > -0.5, "float32")
    p = ops.sigmoid(logits)
    ce = ops.softplus(logits) - positive * logits  # binary cross-entropy from logits
    p_t = positive * p + (1 - positive) * (1 - p)
    alpha_t = positive * alpha + (1 - positive) * (1 - alpha)
    loss = alpha_t * ops.power(1 - p_t, gamma) * ce * valid
    return ops.sum(loss) / ops.maximum(ops.sum(positive), 1.0)


def mined_ce_loss(labels, logits, negatives_per_positive: float = 3.0):
    """Binary cross-entropy over the positives and the hardest negatives (ratio per image, at least
    one), over the number of positives. labels, logits [B, A, 1]; labels 1 / 0 / -1 (ignored)."""
    labels, logits = labels[..., 0], logits[..., 0]
    positive = ops.cast(labels > 0.5, "float32")
    negative = ops.cast((labels > -0.5) & (labels < 0.5), "float32")
    ce = ops.softplus(logits) - positive * logits
    negative_ce = ce * negative - (1 - negative)  # non-negatives sort last
    rank = ops.argsort(ops.argsort(-negative_ce, axis=-1), axis=-1)
    keep = ops.maximum(ops.sum(positive, axis=-1, keepdims=True) * negatives_per_positive, 1.0)
    hard = negative * ops.cast(ops.cast(rank, "float32") < keep, "float32")
    return ops.sum(ce * (positive + hard)) / ops.maximum(ops.sum(positive), 1.0)


def regression_loss(target, pred, weights, input_size: float, delta: float, box_weight: float = 1.0):
    """Huber loss of the encoded values in units of the input size, weighted, per positive anchor.
    target, pred, weights [B, A, V]: weights 1 on a positive anchor's box (its first 4 values,
    which count the positives) and labelled keypoints, 0 elsewhere; the box's 4 values count
    box_weight times a keypoint coordinate."""
    error = ops.abs(pred - target) / float(input_size)
    huber = ops.where(error < delta, 0.5 * ops.square(error) / delta, error - 0.5 * delta)
    scale = ops.concatenate([ops.full((4,), box_weight), ops.ones((target.shape[-1] - 4,))])
    return ops.sum(huber * weights * scale) / ops.maximum(ops.sum(weights[..., :1]), 1.0)


# ---- the same, in Keras' (y_true, y_pred) form for model.compile ------------------------------


def pack_targets(targets: dict) -> dict:
    """The pipeline's targets -> one y_true per output (see the module docstring)."""
    return {
        "regressors": ops.concatenate([targets["regressors"], targets["weights"]], axis=-1),
        "classificators": targets["labels"],
    }


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile` on packed targets."""
    from blazeforge.errors import BlazeforgeError

    loss = recipe.loss
    size = float(recipe.input_size)

    values = 4 + 2 * len(detector(str(recipe.detector)).keypoints)

    def regressors(y_true, y_pred):
        return regression_loss(
            y_true[..., :values], y_pred, y_true[..., values:], size, float(loss.huber_delta), float(loss.box_weight)
        )

    if loss.classification == "focal":

        def classificators(y_true, y_pred):
            return focal_loss(y_true, y_pred, float(loss.alpha), float(loss.gamma))
    elif loss.classification == "ce":

        def classificators(y_true, y_pred):
            return mined_ce_loss(y_true, y_pred, float(loss.negatives_per_positive))
    else:
        raise BlazeforgeError("recipe.loss.classification", f"expected focal | ce, got {loss.classification!r}")
    return (
        {"regressors": regressors, "classificators": classificators},
        {"regressors": float(loss.regression), "classificators": 1.0},
    )


def make_metrics(recipe: DictConfig) -> dict:
    """No per-batch metrics: detectors are scored by AP on whole images at evaluation."""
    return {}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) from `training.detection_pipeline`."""
    from blazeforge.training.detection_pipeline import make_dataset as make

    return make(cfg, dataset_dir, split, training)

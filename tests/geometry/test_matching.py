import numpy as np
import pytest

from blazeforge.geometry.anchors import PALM_DETECTION, POSE_DETECTION, generate_anchors
from blazeforge.geometry.detections import decode
from blazeforge.geometry.matching import (
    BACKGROUND,
    IGNORE,
    encode,
    match,
    pairwise_iou,
    sized_anchors,
    square_boxes,
)


def test_every_box_gets_anchors_and_far_anchors_are_background():
    anchor_boxes = sized_anchors(PALM_DETECTION.anchors)
    boxes = np.array([[0.2, 0.2, 0.45, 0.45], [0.6, 0.55, 0.7, 0.65]])
    matched = match(boxes, anchor_boxes)
    assert (matched == 0).sum() >= 1 and (matched == 1).sum() >= 1
    best = pairwise_iou(anchor_boxes, boxes).max(1)
    assert np.all(matched[best < 0.4][matched[best < 0.4] < 0] == BACKGROUND)
    assert set(np.unique(matched)) <= {BACKGROUND, IGNORE, 0, 1}
    assert (match(np.zeros((0, 4)), anchor_boxes) == BACKGROUND).all()


def test_anchors_over_an_ignore_region_are_ignored_not_background():
    anchor_boxes = sized_anchors(PALM_DETECTION.anchors)
    box, unseen = np.array([[0.2, 0.2, 0.45, 0.45]]), np.array([[0.6, 0.55, 0.75, 0.7]])
    plain, ignoring = match(box, anchor_boxes), match(box, anchor_boxes, ignore_boxes=unseen)
    near_unseen = pairwise_iou(anchor_boxes, unseen)[:, 0] >= 0.4
    assert near_unseen.any() and (plain[near_unseen] == BACKGROUND).all() and (ignoring[near_unseen] == IGNORE).all()
    assert np.array_equal(plain[~near_unseen], ignoring[~near_unseen])  # the seen palm's anchors are unchanged
    assert (match(np.zeros((0, 4)), anchor_boxes, ignore_boxes=unseen)[near_unseen] == IGNORE).all()


def test_decode_inverts_encode_for_matched_anchors():
    spec = PALM_DETECTION
    anchors = generate_anchors(spec.anchors)
    boxes = np.array([[0.3, 0.35, 0.5, 0.55]])
    keypoints = np.random.default_rng(0).uniform(0.3, 0.55, (1, 7, 2))
    matched = match(boxes, sized_anchors(spec.anchors))
    raw = encode(boxes, keypoints, matched, anchors, spec.decode)
    scores = np.where(matched >= 0, 10.0, -10.0)[:, None]
    decoded = decode(raw, scores, anchors, spec.decode)[matched >= 0]
    np.testing.assert_allclose(decoded[:, 1:5], np.repeat(boxes, len(decoded), 0), atol=1e-5)
    np.testing.assert_allclose(decoded[:, 5:], np.repeat(keypoints.reshape(1, -1), len(decoded), 0), atol=1e-5)
    assert (raw[matched < 0] == 0).all()
    assert decoded[:, 0] == pytest.approx(1 / (1 + np.exp(-10.0)))


def test_a_standing_persons_square_matches_many_square_anchors_where_its_box_matches_one():
    anchor_boxes = sized_anchors(POSE_DETECTION.anchors)
    person = np.array([[0.35, 0.1, 0.6, 0.85]])  # 1:3
    square = square_boxes(person)
    np.testing.assert_allclose(square, [[0.1, 0.1, 0.85, 0.85]])
    assert (match(person, anchor_boxes) >= 0).sum() == 1  # only its best anchor, forced
    assert (match(square, anchor_boxes) >= 0).sum() >= 10

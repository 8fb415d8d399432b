"""Effects driven by the 468 face landmarks: lip makeup and face semantics (blink, mouth, brows).

Lip makeup follows the published AR makeup recipe: the lip region is split by luminance into
shadows, midtones and highlights, each filtered on its own (shadows deepened in the colour,
midtones recoloured, highlights kept bright with a gloss), and the three blended back with soft
weights under a feathered lip mask.

Face semantics are ratios of landmark distances mapped to [0, 1]: eye openness (lid gap over eye
width), mouth opening (inner lip gap over mouth width) and brow height (brow to the middle of the
eye's corners, which a blink does not move, over the interocular distance).
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import cv2
import numpy as np

# The subject's eyes (the right one on the image's left, as the mesh's FACEMESH_RIGHT_EYE): outer
# corner, inner corner, upper lid, lower lid, brow middle.
EYES = {
    "right": dict(corners=(33, 133), lids=(159, 145), brow=105),
    "left": dict(corners=(263, 362), lids=(386, 374), brow=334),
}
MOUTH = dict(corners=(61, 291), lips=(13, 14))
IOD = (33, 263)
# Calibration of the ratios (neutral face -> 0, full expression -> 1): MediaPipe's meshes of the package
# photos (two neutral faces, eyes open) give lid gap / eye width 0.24-0.34, brow to eye centre 0.27-0.28 IOD.
EYE_OPEN, EYE_CLOSED = 0.25, 0.08
MOUTH_OPEN = 0.6
BROW_NEUTRAL, BROW_RAISED = 0.28, 0.36


@lru_cache(maxsize=1)
def lip_loops() -> tuple[np.ndarray, np.ndarray]:
    """The two lip contours (outer and inner, in no set order) as ordered landmark index loops,
    chained from the pinned wheel's FACEMESH_LIPS edges."""
    from blazeforge.zoo.connections import connections

    adjacent = defaultdict(list)
    for a, b in connections("face_mesh")["FACEMESH_LIPS"]:
        adjacent[a].append(b)
        adjacent[b].append(a)
    loops, seen = [], set()
    for start in sorted(adjacent):
        if start in seen:
            continue
        loop, previous, current = [start], None, start
        while True:
            seen.add(current)
            following = [n for n in adjacent[current] if n != previous][0]
            if following == start:
                break
            loop.append(following)
            previous, current = current, following
        loops.append(np.array(loop))
    if len(loops) != 2:
        raise ValueError(f"FACEMESH_LIPS should form two loops, found {len(loops)}")
    return loops[0], loops[1]


def lip_mask(shape: tuple[int, int], landmarks: np.ndarray, feather: float = 0.04) -> np.ndarray:
    """float32 [H, W] in [0, 1]: the lips (outer contour minus the mouth opening), feathered by
    `feather` x the mouth width."""
    xy = np.asarray(landmarks)[:, :2]
    inner, outer = sorted(lip_loops(), key=lambda loop: cv2.contourArea(xy[loop].astype(np.float32)))
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(xy[outer]).astype(np.int32)], 1.0, cv2.LINE_AA)
    cv2.fillPoly(mask, [np.round(xy[inner]).astype(np.int32)], 0.0, cv2.LINE_AA)
    width = np.linalg.norm(xy[MOUTH["corners"][0]] - xy[MOUTH["corners"][1]])
    return cv2.GaussianBlur(mask, (0, 0), max(0.5, feather * width))


def lip_makeup(
    image: np.ndarray, landmarks: np.ndarray, color=(170, 20, 60), strength: float = 0.7, gloss: float = 0.4
) -> np.ndarray:
    """image RGB uint8 [H, W, 3] with lipstick of `color` (RGB) on the face of `landmarks` [468, >=2]."""
    mask = lip_mask(image.shape[:2], landmarks)
    ys, xs = np.nonzero(mask > 0.02)
    if not len(ys):
        return image
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    patch = image[y0:y1, x0:x1]
    m = mask[y0:y1, x0:x1, None] * strength
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
    tint = cv2.cvtColor(np.uint8([[color]]), cv2.COLOR_RGB2LAB).astype(np.float32)[0, 0]
    lum = lab[..., 0]
    inside = lum[mask[y0:y1, x0:x1] > 0.5]
    lo, hi = np.percentile(inside, [30, 85]) if len(inside) else (lum.min(), lum.max())
    # Soft tone weights: shadows below lo, highlights above hi, midtones between.
    w_shadow = np.clip((lo - lum) / max(hi - lo, 1.0) * 2 + 0.5, 0, 1)
    w_high = np.clip((lum - hi) / max(255 - hi, 1.0) * 2, 0, 1)
    w_mid = np.clip(1 - w_shadow - w_high, 0, 1)
    mid = lab.copy()
    mid[..., 0] = lum + 0.35 * (tint[0] - lum.mean())
    mid[..., 1:] = tint[1:]
    shadow = mid.copy()
    shadow[..., 0] = lum * 0.85
    high = mid.copy()
    high[..., 0] = np.minimum(255, lum + gloss * (255 - lum))
    high[..., 1:] = 0.5 * tint[1:] + 0.5 * 128
    total = w_shadow + w_mid + w_high + 1e-6
    made = (shadow * w_shadow[..., None] + mid * w_mid[..., None] + high * w_high[..., None]) / total[..., None]
    rgb = cv2.cvtColor(np.clip(made, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(rgb * m + patch * (1 - m), 0, 255).astype(np.uint8)
    return out


def _unit(value: float, lo: float, hi: float) -> float:
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def face_semantics(landmarks: np.ndarray) -> dict[str, float]:
    """{eye_blink_left, eye_blink_right, mouth_open, brow_raise} in [0, 1] from 468 landmarks (pixels)."""
    p = np.asarray(landmarks, np.float64)[:, :2]
    dist = lambda a, b: float(np.linalg.norm(p[a] - p[b]))  # noqa: E731
    iod = max(dist(*IOD), 1e-6)
    out = {}
    brows = []
    for side, eye in EYES.items():
        openness = dist(*eye["lids"]) / max(dist(*eye["corners"]), 1e-6)
        out[f"eye_blink_{side}"] = round(1 - _unit(openness, EYE_CLOSED, EYE_OPEN), 3)
        centre = (p[eye["corners"][0]] + p[eye["corners"][1]]) / 2
        brows.append(float(np.linalg.norm(p[eye["brow"]] - centre)) / iod)
    out["mouth_open"] = round(_unit(dist(*MOUTH["lips"]) / max(dist(*MOUTH["corners"]), 1e-6), 0.0, MOUTH_OPEN), 3)
    out["brow_raise"] = round(_unit(float(np.mean(brows)), BROW_NEUTRAL, BROW_RAISED), 3)
    return out


def draw_puppet(image: np.ndarray, semantics: dict, roll: float = 0.0, size: int = 120) -> np.ndarray:
    """A cartoon face in the top-right corner of `image` (RGB), driven by face semantics: eyes close
    with the blinks, the mouth opens, the brows rise; the head turns by `roll` radians."""
    out = image.copy()
    h, w = out.shape[:2]
    size = min(size, h, w)
    panel = np.full((size, size, 3), 245, np.uint8)
    c = size / 2
    s = size / 120
    cv2.circle(panel, (int(c), int(c)), int(50 * s), (250, 205, 160), -1, cv2.LINE_AA)
    for sign, side in ((-1, "right"), (1, "left")):  # the subject's left eye is on the image's right
        x = int(c + sign * 18 * s)
        openness = 1 - semantics.get(f"eye_blink_{side}", 0.0)
        cv2.ellipse(
            panel, (x, int(c - 8 * s)), (int(7 * s), max(1, int(8 * s * openness))), 0, 0, 360, (40, 40, 40), -1
        )
        lift = semantics.get("brow_raise", 0.0) * 8 * s
        y = int(c - 22 * s - lift)
        cv2.line(panel, (x - int(9 * s), y), (x + int(9 * s), y), (60, 40, 20), max(1, int(3 * s)), cv2.LINE_AA)
    mouth = semantics.get("mouth_open", 0.0)
    cv2.ellipse(
        panel,
        (int(c), int(c + 22 * s)),
        (int(16 * s), max(1, int(2 * s + 14 * s * mouth))),
        0,
        0,
        360,
        (150, 30, 40),
        -1,
        cv2.LINE_AA,
    )
    turn = cv2.getRotationMatrix2D((c, c), -np.degrees(roll), 1.0)
    panel = cv2.warpAffine(panel, turn, (size, size), borderValue=(245, 245, 245))
    out[:size, w - size :] = panel
    return out

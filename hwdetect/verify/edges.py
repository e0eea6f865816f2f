"""Box edges snapped to the ink: each detected line's box becomes the union of the ink components that make it up.

At the detector's input size a box's edges are a few pixels wide, so they land a word late, stop before a short last
word or sit a little high; labels (IAM's, the generator's) are the union of the line's ink. Around each box, at page
resolution: binarise (Otsu), erase form rules and box borders (ink runs longer than RULE_X line heights across or
RULE_Y down), and take the components that reach into the middle half of the box. Components inside the box seed
the line; ink within WORD_GAP of it, up to REACH_X line heights beyond the box, joins it (a first or last word the
box cut off); the new box is their union, moved at most REACH_Y line heights up or down. A box with too little
contrast around it (blank, or a photo's grey) keeps its edges.
"""
from __future__ import annotations

import cv2
import numpy as np

REACH_X = 0.6  # line heights an edge may move out sideways to take in ink the detector left out
REACH_Y = 0.15  # ... up or down (further would reach the next line's ascenders or descenders)
WORD_GAP = 0.5  # line heights between ink outside the box and the line's ink, for it to join the line
CORE = 0.25  # a component belongs to the line when it reaches past this fraction of the box height from each edge
RULE_X, RULE_Y = 2.0, 1.2  # straight ink runs at least this many line heights long are rules and borders, not writing
SPECK = 0.004  # components under this many squared line heights (and under 2 px) are noise
FRAGMENT = 0.02  # ink outside the box must be at least this many squared line heights to join the line
MIN_CONTRAST = 40  # grey levels between ink and paper, below which the binarisation is not trusted
MIN_HEIGHT = 4  # boxes shorter than this (pixels) keep their edges


def snap_to_ink(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The boxes (N x 4, xyxy pixels of the grey image) with their edges on the ink of their lines."""
    boxes = np.asarray(boxes)
    out = boxes.astype(np.float64).reshape(-1, 4)
    for i, box in enumerate(out.tolist()):
        snapped = _snap_one(gray, *box)
        if snapped is not None:
            out[i] = snapped
    return out.astype(boxes.dtype if boxes.dtype.kind == "f" else np.float64).reshape(boxes.shape)


def ink_without_rules(region: np.ndarray, h: float) -> np.ndarray | None:
    """Ink pixels of a region (255) without rules and borders; None when ink and paper barely differ."""
    _, ink = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    fg, bg = region[ink > 0], region[ink == 0]
    if not len(fg) or not len(bg) or bg.mean() - fg.mean() < MIN_CONTRAST:
        return None
    across = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(RULE_X * h)), 1))
    down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(RULE_Y * h))))
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, across) | cv2.morphologyEx(ink, cv2.MORPH_OPEN, down)
    return ink & ~rules


def _snap_one(gray: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> tuple | None:
    h = y1 - y0
    if h < MIN_HEIGHT or x1 - x0 < 2:
        return None
    rows, cols = gray.shape[:2]
    left, top = int(max(0, np.floor(x0 - REACH_X * h))), int(max(0, np.floor(y0 - REACH_Y * h)))
    right, bottom = int(min(cols, np.ceil(x1 + REACH_X * h))), int(min(rows, np.ceil(y1 + REACH_Y * h)))
    if right - left < 2 or bottom - top < 2:
        return None
    ink = ink_without_rules(gray[top:bottom, left:right], h)
    if ink is None:
        return None
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    cx, cy, cw, ch, area = (stats[1:, k].astype(np.float64) for k in range(5))
    cx, cy = cx + left, cy + top
    in_core = (cy < y1 - CORE * h) & (cy + ch > y0 + CORE * h)
    usable = in_core & (area >= max(2.0, SPECK * h * h))
    line = usable & (cx < x1) & (cx + cw > x0)
    if not line.any():
        return None
    lo, hi = cx[line].min(), (cx + cw)[line].max()
    joins = usable & (area >= FRAGMENT * h * h)
    while True:
        near = joins & ~line & (cx + cw >= lo - WORD_GAP * h) & (cx <= hi + WORD_GAP * h)
        if not near.any():
            break
        line |= near
        lo, hi = min(lo, cx[near].min()), max(hi, (cx + cw)[near].max())
    return lo, cy[line].min(), hi, (cy + ch)[line].max()

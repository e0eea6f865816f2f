"""One box per handwritten line: the detector sometimes adds, besides a line's box, a lower-scored box on part of
the same line (a word group). Such a box lies almost wholly inside the line's box and is about as tall; it is a
duplicate for anything that crops lines (OCR), so `predict` and `evaluate` drop it. A box inside a much taller one
(a box spanning two lines) is kept: that is a different error, reported as merged lines."""
from __future__ import annotations

import numpy as np

from hwdetect.evaluation.metrics import areas, intersections

INSIDE = 0.7        # a box is a duplicate when at least this fraction of it lies inside a higher-scored box...
TALLER_AT_MOST = 1.5  # ...that is at most this many times as tall


def duplicate_parts(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """A mask of the boxes (N×4, xyxy) that duplicate part of a higher-scored line box."""
    boxes, scores = np.asarray(boxes, float).reshape(-1, 4), np.asarray(scores, float).reshape(-1)
    if len(boxes) < 2:
        return np.zeros(len(boxes), bool)
    inside = intersections(boxes, boxes) / np.maximum(areas(boxes), 1e-9)[:, None]  # [i, j]: share of i inside j
    height = boxes[:, 3] - boxes[:, 1]
    higher = scores[None, :] > scores[:, None]
    similar = height[None, :] <= TALLER_AT_MOST * height[:, None]
    np.fill_diagonal(inside, 0)
    return ((inside >= INSIDE) & higher & similar).any(axis=1)

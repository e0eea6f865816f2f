"""A box that runs over print and handwriting cut into its pieces, the print left out.

At the detector's input size a printed form label and the entry written after it ("First name: ALEJANDRO") often
come out as one box, and the verifier, judging the box as a whole, takes it for handwriting. Along each wide box
that the verifier keeps, at page resolution: take the box's ink (rules and borders erased, as edges.py does), cut
it at blank column gaps of at least GAP line heights, and ask the verifier about each piece. When some pieces are
surely print (handwriting probability below PRINT) and the others are not, the box becomes one box per run of
pieces between the print, each on its ink; a box whose pieces are all one kind is left whole, so a handwritten line
with wide word gaps stays one line. A piece narrower than NARROW line heights (a dot, a comma, one stroke) is never
taken for print: alone it says too little.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from hwdetect.verify.edges import ink_without_rules

GAP = 0.5     # line heights of blank columns between two pieces of a box
WIDE = 3.0    # boxes narrower than this many line heights are left whole
NARROW = 1.0  # pieces narrower than this many line heights are never taken for print
PRINT = 0.05  # a piece with a lower handwriting probability is print


def pieces(gray: np.ndarray, box) -> np.ndarray:
    """The pieces of one box (K x 4, xyxy pixels, each on its ink): runs of ink columns between gaps of GAP line
    heights; none when the box is narrow or blank, or its ink barely differs from the paper."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(gray.shape[1], x1), min(gray.shape[0], y1)
    h = y1 - y0
    if h < 4 or x1 - x0 < WIDE * h:
        return np.zeros((0, 4))
    ink = ink_without_rules(gray[y0:y1, x0:x1], h)
    if ink is None or not ink.any():
        return np.zeros((0, 4))
    cols = np.flatnonzero(ink.any(0))
    breaks = np.flatnonzero(np.diff(cols) > GAP * h)
    out = []
    for a, b in zip(np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]]):
        rows = np.flatnonzero(ink[:, a:b + 1].any(1))
        out.append((x0 + a, y0 + rows[0], x0 + b + 1, y0 + rows[-1] + 1))
    return np.array(out, np.float64)


def drop_print(gray: np.ndarray, boxes: np.ndarray, kept: np.ndarray, probabilities: Callable) -> tuple:
    """The boxes (N x 4 xyxy) with each box that the verifier keeps (`kept`) and that runs over print and handwriting
    replaced by its runs of handwriting (`probabilities(gray, pieces)`: the verifier's handwriting probability of
    each piece); and for each box out, the index of the box it comes from and whether it is a cut."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    out, source, cut = [], [], []
    for i, box in enumerate(boxes):
        parts = pieces(gray, box) if kept[i] else np.zeros((0, 4))
        printed = np.zeros(len(parts), bool)
        if len(parts) > 1:
            printed = (probabilities(gray, parts) < PRINT) & (parts[:, 2] - parts[:, 0] >= NARROW * (box[3] - box[1]))
        if printed.all() or not printed.any():
            out.append(box[None])
            source.append(i)
            cut.append(False)
            continue
        run = np.cumsum(printed)  # the pieces between the same two print pieces share a number
        for r in np.unique(run[~printed]):
            part = parts[(run == r) & ~printed]
            out.append([[part[:, 0].min(), part[:, 1].min(), part[:, 2].max(), part[:, 3].max()]])
            source.append(i)
            cut.append(True)
    return (np.concatenate(out) if out else boxes), np.array(source, np.intp), np.array(cut, bool)

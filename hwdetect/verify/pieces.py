"""A box that runs over print and handwriting cut into its pieces, the print left out.

At the detector's input size a printed form label and the entry written after it ("First name: ALEJANDRO") often
come out as one box, and the verifier, judging the box as a whole, takes it for handwriting. Along each wide box
that the verifier keeps, at page resolution: take the box's ink (rules and borders erased, as edges.py does), cut
it at blank column gaps of at least GAP line heights, and ask the verifier about each piece. When some pieces are
surely print (handwriting probability below PRINT) and the others are not, the box becomes one box per run of
pieces between the print, each on its ink; a box whose pieces are all one kind is left whole, so a handwritten line
with wide word gaps stays one line. A piece narrower than NARROW line heights (a dot, a comma, one stroke) is never
taken for print: alone it says too little. A box that runs across a table's column rule (a straight vertical
line through the whole box, from above it to below it, that a row rule of its table meets near the box) is cut
there whatever the verifier says: one box per cell.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from hwdetect.verify.edges import RULE_X, ink_without_rules

GAP = 0.5     # line heights of blank columns between two pieces of a box
WIDE = 3.0    # boxes narrower than this many line heights are left whole
NARROW = 1.0  # pieces narrower than this many line heights are never taken for print
PRINT = 0.05  # a piece with a lower handwriting probability is print
RULE_REACH = 0.5  # line heights above and below the box a column rule runs, at least
RULE_INKED = 0.85  # share of that height a column rule inks (scanned rules fade in places)
RULE_WIDTH = 0.15  # line heights a column rule is wide, at most
ROW_RULE = 1.5  # line heights above or below the box within which a column rule meets a row rule of its table


def pieces(gray: np.ndarray, box, rules=()) -> np.ndarray:
    """The pieces of one box (K x 4, xyxy pixels, each on its ink): runs of ink columns between gaps of GAP line
    heights, or on either side of a column rule at an x of `rules`; none when the box is narrow or blank, or its ink
    barely differs from the paper."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(gray.shape[1], x1), min(gray.shape[0], y1)
    h = y1 - y0
    if h < 4 or x1 - x0 < WIDE * h:
        return np.zeros((0, 4))
    ink = ink_without_rules(gray[y0:y1, x0:x1], h)
    if ink is None or not ink.any():
        return np.zeros((0, 4))
    cols = np.flatnonzero(ink.any(0))
    side = np.searchsorted(np.asarray(rules, np.float64) - x0, cols)  # how many rules lie left of each column
    breaks = np.flatnonzero((np.diff(cols) > GAP * h) | (np.diff(side) > 0))
    out = []
    for a, b in zip(np.r_[cols[0], cols[breaks + 1]], np.r_[cols[breaks], cols[-1]]):
        rows = np.flatnonzero(ink[:, a:b + 1].any(1))
        out.append((x0 + a, y0 + rows[0], x0 + b + 1, y0 + rows[-1] + 1))
    return np.array(out, np.float64)


def column_rules(gray: np.ndarray, box) -> np.ndarray:
    """x of the column rules that run through the box: thin runs of columns inked over RULE_INKED of the box's
    height and RULE_REACH more above and below it (a letter's stroke is never that long), met by a row rule of the
    same table within ROW_RULE line heights above or below the box (a scanner's streak or a fold meets none)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    h = y1 - y0
    top, bottom = max(0, y0 - round(RULE_REACH * h)), min(gray.shape[0], y1 + round(RULE_REACH * h))
    x0, x1 = max(0, x0), min(gray.shape[1], x1)
    if bottom - top < 3 or x1 - x0 < 3:
        return np.zeros(0)
    _, ink = cv2.threshold(gray[top:bottom, x0:x1], 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink = cv2.dilate(ink, np.ones((1, 3), np.uint8))  # a rule a pixel askew
    ruled = np.flatnonzero((ink > 0).mean(0) >= RULE_INKED)
    runs = np.split(ruled, np.flatnonzero(np.diff(ruled) > 1) + 1) if len(ruled) else []
    rules = [run + x0 for run in runs if len(run) <= RULE_WIDTH * h + 2 and _meets_a_row_rule(gray, run + x0, y0, y1)]
    return np.concatenate(rules) + 0.5 if rules else np.zeros(0)


def _meets_a_row_rule(gray: np.ndarray, columns: np.ndarray, y0: int, y1: int) -> bool:
    """Whether a horizontal rule at least RULE_X line heights long touches these columns near the box's rows."""
    h = y1 - y0
    reach, long = round(ROW_RULE * h), max(3, int(RULE_X * h))
    top, bottom = max(0, y0 - reach), min(gray.shape[0], y1 + reach)
    left, right = max(0, int(columns[0]) - long), min(gray.shape[1], int(columns[-1]) + long + 1)
    _, ink = cv2.threshold(gray[top:bottom, left:right], 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    across = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (long, 1)))
    near = slice(max(0, int(columns[0]) - left - 3), int(columns[-1]) - left + 4)
    return bool(across[:, near].any())


def drop_print(gray: np.ndarray, boxes: np.ndarray, kept: np.ndarray, probabilities: Callable) -> tuple:
    """The boxes (N x 4 xyxy) with each box that the verifier keeps (`kept`) and that runs over print and handwriting
    replaced by its runs of handwriting (`probabilities(gray, pieces)`: the verifier's handwriting probability of
    each piece), and each such box that runs across a column rule cut there; and for each box out, the index of the
    box it comes from and whether it is a cut."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    out, source, cut = [], [], []
    for i, box in enumerate(boxes):
        parts, rules = pieces(gray, box) if kept[i] else np.zeros((0, 4)), np.zeros(0)
        if len(parts):  # a box too narrow or faint to cut has no rules to look for either
            rules = column_rules(gray, box)
            parts = pieces(gray, box, rules) if len(rules) else parts
        printed = np.zeros(len(parts), bool)
        ruled = np.r_[False, [((rules > a) & (rules < b)).any() for a, b in zip(parts[:-1, 2], parts[1:, 0])]]
        if len(parts) > 1:
            printed = (probabilities(gray, parts) < PRINT) & (parts[:, 2] - parts[:, 0] >= NARROW * (box[3] - box[1]))
        if printed.all() or not (printed.any() or ruled.any()):
            out.append(box[None])
            source.append(i)
            cut.append(False)
            continue
        run = np.cumsum(printed | ruled)  # the pieces between the same two print pieces or rules share a number
        for r in np.unique(run[~printed]):
            part = parts[(run == r) & ~printed]
            out.append([[part[:, 0].min(), part[:, 1].min(), part[:, 2].max(), part[:, 3].max()]])
            source.append(i)
            cut.append(True)
    return (np.concatenate(out) if out else boxes), np.array(source, np.intp), np.array(cut, bool)

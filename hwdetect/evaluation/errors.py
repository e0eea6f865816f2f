"""How a detector's boxes go wrong, line by line: what an OCR step that crops the boxes needs to know.

Per image, predictions (sorted by score) are matched one-to-one to labelled lines at IoU >= 0.5, as for F1. Then:
- a labelled line is *found* when matched, else *missed*; it is *split* when two or more boxes lie on it (a line
  cut into word groups), and *merged* when one box covers it together with another line;
- an unmatched box is a *partial box* when most of it lies on one labelled line, a *merged box* when it covers two
  or more lines, and a box *off the lines* otherwise (printed text, rules, background);
- matched boxes give the geometry: height and width relative to the labelled line, and how far each edge sits from
  the line's edge, in line heights (negative = above or left of it).
"""
from __future__ import annotations

import numpy as np

from hwdetect.evaluation.metrics import areas, intersections, match

IOU_MATCH = 0.5   # IoU for a box to count as finding a line
ON_LINE = 0.5     # a box lies on a line when at least this fraction of the box's area is on it
COVERS = 0.5      # a box covers a line when at least this fraction of the line's area is under it
COUNTS = ("lines", "found", "missed", "split_lines", "merged_lines", "boxes", "partial_boxes", "merged_boxes",
          "boxes_off_lines")
GEOMETRY = ("height_ratio", "width_ratio", "top_offset", "bottom_offset", "left_offset", "right_offset")


def image_errors(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Counts (COUNTS) and the matched boxes' geometry (lists of GEOMETRY values) for one image (xyxy arrays)."""
    pred, truth = np.asarray(pred, float).reshape(-1, 4), np.asarray(truth, float).reshape(-1, 4)
    pairs = match(pred, truth, IOU_MATCH)
    matched_pred, matched_truth = {p for p, _ in pairs}, {t for _, t in pairs}
    inter = intersections(pred, truth)
    on_line = np.full(len(pred), -1)
    covered: list[set[int]] = [set() for _ in pred]
    if len(truth):
        share = inter / np.maximum(areas(pred), 1e-9)[:, None]
        best = share.argmax(1)
        on_line = np.where(share[np.arange(len(pred)), best] >= ON_LINE, best, -1)
        under = inter / np.maximum(areas(truth), 1e-9)[None, :]
        covered = [set(np.flatnonzero(row >= COVERS).tolist()) for row in under]
    merged = [p for p in range(len(pred)) if len(covered[p]) >= 2]
    parts_on = np.bincount(on_line[(on_line >= 0) & ~np.isin(np.arange(len(pred)), merged)], minlength=len(truth))
    extra = [p for p in range(len(pred)) if p not in matched_pred and p not in merged]
    counts = {
        "lines": len(truth), "found": len(matched_truth), "missed": len(truth) - len(matched_truth),
        "split_lines": int((parts_on >= 2).sum()), "merged_lines": len(set().union(*(covered[p] for p in merged))),
        "boxes": len(pred), "partial_boxes": sum(on_line[p] >= 0 for p in extra),
        "merged_boxes": len(merged), "boxes_off_lines": sum(on_line[p] < 0 for p in extra),
    }
    geometry: dict[str, list[float]] = {k: [] for k in GEOMETRY}
    for p, t in pairs:
        (px0, py0, px1, py1), (tx0, ty0, tx1, ty1) = pred[p], truth[t]
        th, tw = max(ty1 - ty0, 1e-9), max(tx1 - tx0, 1e-9)
        for key, value in zip(GEOMETRY, ((py1 - py0) / th, (px1 - px0) / tw, (py0 - ty0) / th, (py1 - ty1) / th,
                                         (px0 - tx0) / th, (px1 - tx1) / th)):
            geometry[key].append(float(value))
    return {**counts, **geometry}


def summarise(per_image: list[dict]) -> dict:
    """Totals of the counts over images, rates per labelled line, and medians of the matched boxes' geometry."""
    totals = {k: int(sum(e[k] for e in per_image)) for k in COUNTS}
    lines = max(totals["lines"], 1)
    rates = {f"{k}_per_line": round(totals[k] / lines, 5) for k in ("missed", "split_lines", "merged_lines",
                                                                      "partial_boxes", "boxes_off_lines")}
    medians = {f"median_{k}": round(float(np.median(v)), 4) if (v := [x for e in per_image for x in e[k]]) else None
               for k in GEOMETRY}
    return {**totals, **rates, **medians}

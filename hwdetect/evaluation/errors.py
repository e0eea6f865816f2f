"""How a detector's boxes go wrong, line by line: what an OCR step that crops the boxes needs to know.

Per image, predictions (sorted by score) are matched one-to-one to labelled lines at IoU >= 0.5, as for F1. Then:
- a labelled line is *found* when matched, else *missed*; it is *split* when two or more boxes lie on it (a line
  cut into word groups), and *merged* when one box covers it together with another line;
- an unmatched box is a *partial box* when most of it lies on one labelled line, a *merged box* when it covers two
  or more lines, and a box *off the lines* otherwise (printed text, rules, background): on a page with no labelled
  handwriting (a print-only page) every box is off the lines;
- where a set labels print too, an unmatched box is *on print* when at least half of its area lies on print boxes;
- matched boxes give the geometry: height and width relative to the labelled line, and how far each edge sits from
  the line's edge, in line heights (negative = above or left of it).
"""
from __future__ import annotations

import numpy as np

from hwdetect.evaluation.metrics import areas, intersections, match

IOU_MATCH = 0.5   # IoU for a box to count as finding a line
ON_LINE = 0.5     # a box lies on a line when at least this fraction of the box's area is on it
COVERS = 0.5      # a box covers a line when at least this fraction of the line's area is under it
ON_PRINT = 0.5   # a box lies on print when at least this fraction of its area is under the print boxes
COUNTS = ("pages", "lines", "found", "missed", "split_lines", "merged_lines", "boxes", "partial_boxes",
          "merged_boxes", "boxes_off_lines", "print_only_pages", "boxes_on_print_only_pages")
GEOMETRY = ("height_ratio", "width_ratio", "top_offset", "bottom_offset", "left_offset", "right_offset")


def union_share(boxes: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """The fraction of each box's area (N×4, xyxy) that lies under the union of the `cover` boxes (M×4): overlapping
    cover boxes count once (the box is cut into the cells their edges make)."""
    share = np.zeros(len(boxes))
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        inside = np.clip(cover, [x0, y0, x0, y0], [x1, y1, x1, y1])
        inside = inside[(inside[:, 2] > inside[:, 0]) & (inside[:, 3] > inside[:, 1])]
        if not len(inside) or x1 <= x0 or y1 <= y0:
            continue
        xs = np.unique(np.r_[x0, x1, inside[:, 0], inside[:, 2]])
        ys = np.unique(np.r_[y0, y1, inside[:, 1], inside[:, 3]])
        cx, cy = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2  # cell centres
        in_x = (inside[:, 0:1] <= cx) & (cx <= inside[:, 2:3])  # [cover, column]
        in_y = (inside[:, 1:2] <= cy) & (cy <= inside[:, 3:4])  # [cover, row]
        under = (in_y[:, :, None] & in_x[:, None, :]).any(0)  # [row, column]
        share[i] = (np.diff(ys)[:, None] * np.diff(xs)[None, :] * under).sum() / ((x1 - x0) * (y1 - y0))
    return share


def image_errors(pred: np.ndarray, truth: np.ndarray, printed: np.ndarray | None = None) -> dict:
    """Counts (COUNTS, and boxes_on_print: None where `printed` is None, the set labelling no print) and the matched
    boxes' geometry (lists of GEOMETRY values) for one image; boxes as xyxy arrays, truth the handwriting lines."""
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
        "pages": 1, "print_only_pages": int(not len(truth)),
        "boxes_on_print_only_pages": 0 if len(truth) else len(pred), "boxes_on_print": None,
    }
    if printed is not None:
        unmatched = [p for p in range(len(pred)) if p not in matched_pred]
        on_print = union_share(pred[unmatched], np.asarray(printed, float).reshape(-1, 4)) >= ON_PRINT
        counts["boxes_on_print"] = int(on_print.sum())
    geometry: dict[str, list[float]] = {k: [] for k in GEOMETRY}
    for p, t in pairs:
        (px0, py0, px1, py1), (tx0, ty0, tx1, ty1) = pred[p], truth[t]
        th, tw = max(ty1 - ty0, 1e-9), max(tx1 - tx0, 1e-9)
        for key, value in zip(GEOMETRY, ((py1 - py0) / th, (px1 - px0) / tw, (py0 - ty0) / th, (py1 - ty1) / th,
                                         (px0 - tx0) / th, (px1 - tx1) / th)):
            geometry[key].append(float(value))
    return {**counts, **geometry}


def per(count: int | None, of: int) -> float | None:
    return None if count is None or not of else round(count / of, 5)


def summarise(per_image: list[dict]) -> dict:
    """Totals of the counts over images, rates per labelled line and per page, and medians of the matched boxes'
    geometry. Boxes on print are counted only where every image labels print (else None)."""
    totals = {k: int(sum(e[k] for e in per_image)) for k in COUNTS}
    on_print = [e["boxes_on_print"] for e in per_image]
    totals["boxes_on_print"] = sum(on_print) if on_print and None not in on_print else None
    rates = {f"{k}_per_line": per(totals[k], totals["lines"]) for k in ("missed", "split_lines", "merged_lines",
                                                                          "partial_boxes", "boxes_off_lines")}
    rates |= {"boxes_off_lines_per_page": per(totals["boxes_off_lines"], totals["pages"]),
              "boxes_on_print_per_page": per(totals["boxes_on_print"], totals["pages"]),
              "boxes_on_print_only_pages_per_page": per(totals["boxes_on_print_only_pages"],
                                                        totals["print_only_pages"])}
    medians = {f"median_{k}": round(float(np.median(v)), 4) if (v := [x for e in per_image for x in e[k]]) else None
               for k in GEOMETRY}
    return {**totals, **rates, **medians}

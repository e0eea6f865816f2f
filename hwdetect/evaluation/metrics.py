"""Metric arithmetic on plain numbers and arrays: summaries of Ultralytics results, IoU and per-image F1."""
from __future__ import annotations

import numpy as np

from hwdetect.files.yolo_labels import HANDWRITING
from hwdetect.training.runfiles import rounded


def handwriting_row(m) -> int | None:
    """Where class 0 (handwriting) sits in Ultralytics' per-class results; None when the set labels none of it.
    A set that also labels print, or a model that also detects it, is scored on handwriting alone."""
    classes = [int(c) for c in m.box.ap_class_index]
    return classes.index(HANDWRITING) if HANDWRITING in classes else None


def summary(m, images: int) -> dict:
    """Precision, recall, F1, mAP50, mAP50-95 of handwriting (None on a set without handwriting labels) and counts,
    from Ultralytics' DetMetrics."""
    row = handwriting_row(m)
    instances = int(m.nt_per_class[HANDWRITING]) if m.nt_per_class is not None and len(m.nt_per_class) else 0
    if row is None:
        figures = dict.fromkeys(("precision", "recall", "f1", "mAP50", "mAP50-95"))
    else:
        p, r, map50, map50_95 = (float(v) for v in m.box.class_result(row))
        figures = rounded({"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                           "mAP50": map50, "mAP50-95": map50_95})
    return {**figures, "images": images, "instances": instances}


def pr_points(m) -> list[tuple[float, float]]:
    """Precision of handwriting against recall at 101 recall points (none on a set without handwriting labels)."""
    if (row := handwriting_row(m)) is None:
        return []
    recall, precision = m.box.curves_results[0][0], m.box.curves_results[0][1][row]
    idx = np.linspace(0, len(recall) - 1, 101).round().astype(int)
    return [(round(float(recall[i]), 4), round(float(precision[i]), 4)) for i in idx]


def areas(b: np.ndarray) -> np.ndarray:
    """Area of every box in b (N×4, xyxy); zero for an inverted box."""
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection area of every box in a (N×4, xyxy) with every box in b (M×4)."""
    lo, hi = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.clip(hi - lo, 0, None).prod(2)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N×4, xyxy) with every box in b (M×4)."""
    inter = intersections(a, b)
    return inter / np.maximum(areas(a)[:, None] + areas(b)[None, :] - inter, 1e-9)


def match(pred: np.ndarray, truth: np.ndarray, iou_min: float = 0.5) -> list[tuple[int, int]]:
    """(prediction, truth) index pairs: predictions (sorted by score) each take the best unmatched truth with
    IoU >= iou_min."""
    if not len(pred) or not len(truth):
        return []
    pairs: list[tuple[int, int]] = []
    taken: set[int] = set()
    for p, row in enumerate(box_iou(pred, truth)):
        free = [k for k in np.argsort(-row) if k not in taken and row[k] >= iou_min]
        if free:
            taken.add(int(free[0]))
            pairs.append((p, int(free[0])))
    return pairs


def image_f1(pred: np.ndarray, truth: np.ndarray, iou_min: float = 0.5) -> float:
    """F1 of one image, predictions matched to the truth one-to-one (see `match`)."""
    if not len(pred) or not len(truth):
        return float(len(pred) == len(truth))
    return 2 * len(match(pred, truth, iou_min)) / (len(pred) + len(truth))

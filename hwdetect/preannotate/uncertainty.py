"""How unsure the model is about a page, so that the least-sure pages are labelled first.

A page's uncertainty is the sum of four counts, from its candidate boxes (every box scored at least 0.05):
- boxes whose score lies between 0.1 and 0.6: neither clearly kept nor clearly dropped around the 0.25 threshold;
- kept boxes (score >= the threshold) that overlap another kept box (IoU > 0.3): a line split or merged;
- 1 when the best score is below 0.5 (nothing the model is sure of), and 1 more when no box is kept at all.
Ties go to the page with the lower best score, then to the name. README: Label your own pages.
"""
from __future__ import annotations

import numpy as np

from hwdetect.evaluation.metrics import box_iou

CANDIDATE_CONF = 0.05
UNSURE = (0.1, 0.6)
OVERLAP_IOU = 0.3


def uncertainty(candidates: list[dict], conf: float) -> int:
    scores = np.array([b["score"] for b in candidates])
    kept = np.array([b["xyxy"] for b in candidates if b["score"] >= conf]).reshape(-1, 4)
    unsure = int(((scores >= UNSURE[0]) & (scores <= UNSURE[1])).sum())
    iou = box_iou(kept, kept) if len(kept) else np.zeros((0, 0))
    overlapping = int(((iou > OVERLAP_IOU).sum(axis=1) > 1).sum())
    best = float(scores.max()) if len(scores) else 0.0
    return unsure + overlapping + int(best < 0.5) + int(len(kept) == 0)


def least_sure_first(pages: list[dict]) -> list[dict]:
    """Pages (with "uncertainty", "max_score" and "name") sorted so that the least sure come first."""
    return sorted(pages, key=lambda p: (-p["uncertainty"], p["max_score"], p["name"]))

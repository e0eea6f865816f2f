"""Line crops as the verifier sees them: the box cut out of the grey page with a margin, scaled to CROP_HEIGHT
(keeping its aspect, up to CROP_WIDTH), contrast-normalised (paper 0, ink negative) and padded with paper.

Training crops (fit.py) get the jitter of a detector's box edges and, now and then, a worse source: low
resolution, blur, faded ink, JPEG.
"""
from __future__ import annotations

import cv2
import numpy as np

CROP_HEIGHT, CROP_WIDTH = 24, 192
MARGIN = 0.1          # of the box height, added on every side
EDGE_JITTER = (0.3, 0.1)  # sd of a detector's horizontal and vertical edge error, in box heights
LOW_RES = 0.5, (0.25, 1.0)  # share of training crops shrunk first, and the shrink factor's range
DEGRADED = 0.3        # share of training crops blurred, faded and JPEG-compressed (worn copies, poor phone photos)


def normalise(gray: np.ndarray, box, rng: np.random.Generator | None = None) -> np.ndarray | None:
    """The crop of `box` (x0, y0, x1, y1 pixels) from a grey image, CROP_HEIGHT x CROP_WIDTH float32; None when the
    box has less than 3 pixels inside the image. rng: training augmentation (edge jitter, degrade)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if rng is not None:
        height = y1 - y0
        x0, x1 = x0 + rng.normal(0, EDGE_JITTER[0]) * height, x1 + rng.normal(0, EDGE_JITTER[0]) * height
        y0, y1 = y0 + rng.normal(0, EDGE_JITTER[1]) * height, y1 + rng.normal(0, EDGE_JITTER[1]) * height
    pad = MARGIN * (y1 - y0)
    h, w = gray.shape
    x0, y0, x1, y1 = int(max(0, x0 - pad)), int(max(0, y0 - pad)), int(min(w, x1 + pad)), int(min(h, y1 + pad))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    crop = gray[y0:y1, x0:x1]
    if rng is not None:
        crop = degrade(crop, rng)
    width = int(min(CROP_WIDTH, max(8, round(crop.shape[1] * CROP_HEIGHT / crop.shape[0]))))
    shrink = crop.shape[0] > CROP_HEIGHT
    crop = cv2.resize(crop, (width, CROP_HEIGHT), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    crop = crop.astype(np.float32)
    ink, paper = np.percentile(crop, (2, 98))
    out = np.zeros((CROP_HEIGHT, CROP_WIDTH), np.float32)
    out[:, :width] = (crop - paper) / max(paper - ink, 16.0)
    return out


def degrade(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A worse copy of a training crop, now and then: a low-resolution source, blur, faded ink, JPEG."""
    if rng.random() < LOW_RES[0]:
        s = rng.uniform(*LOW_RES[1])
        small = cv2.resize(crop, (max(2, round(crop.shape[1] * s)), max(2, round(crop.shape[0] * s))),
                           interpolation=cv2.INTER_AREA)
        crop = cv2.resize(small, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    if rng.random() < DEGRADED:
        out = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), rng.uniform(0.5, 0.06 * crop.shape[0] + 0.5))
        paper = float(np.percentile(out, 98))
        out = paper - (paper - out) * rng.uniform(0.3, 1.0)
        crop = np.clip(out, 0, 255).astype(np.uint8)
        crop = cv2.imdecode(cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 70))])[1],
                            cv2.IMREAD_GRAYSCALE)
    return crop


def batch(gray: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The crops of the boxes (N x 1 x H x W) and which boxes have one (boxes outside the image have none)."""
    crops = [normalise(gray, box) for box in boxes]
    has = np.array([c is not None for c in crops], bool)
    kept = [c for c in crops if c is not None]
    stacked = np.stack(kept)[:, None] if kept else np.zeros((0, 1, CROP_HEIGHT, CROP_WIDTH), np.float32)
    return stacked, has


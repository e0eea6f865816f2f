"""The close look: on a form or a dense page, shrunk whole to the detector's size, an entry, an initial or a signature
is a few pixels tall and the detector misses it. The detector looks at the page again at `zoom` times its size;
from that look only the boxes that were small at its size are taken (the whole-page look finds the rest better, and
keeps the page's context), each given the verifier's second look and kept where no box of the whole-page look
already holds it and its score clears the threshold by `margin`. It is then ranked `margin` lower: such boxes are
less often right than the whole-page look's at the same score (README: the close look)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from hwdetect.evaluation.metrics import areas, intersections

if TYPE_CHECKING:  # torch is imported only after hwdetect.training.runtime.setup()
    from hwdetect.verify.net import Verifier

HELD = 0.3  # a close box with this share of its area inside a box of the whole-page look is part of what it found
DEFAULTS = {"zoom": 1, "max_height": 0.0, "margin": 1.0}  # off: files from before the close look

# detect_at(size, conf) -> the detector's boxes (xyxy pixels of the page) and scores at that input size
DetectAt = Callable[[int, float], tuple[np.ndarray, np.ndarray]]


def detector_at(model, image: np.ndarray, **predict) -> DetectAt:
    """DetectAt for an Ultralytics `model` on one BGR image, predicting with the keyword arguments `predict`."""
    def detect_at(size: int, conf: float) -> tuple[np.ndarray, np.ndarray]:
        result = model.predict(image, imgsz=size, conf=conf, verbose=False, **predict)[0]
        return result.boxes.xyxy.cpu().numpy(), result.boxes.conf.cpu().numpy()
    return detect_at


def held(boxes: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Which of `boxes` have HELD of their area or more inside one box of `by`."""
    if not len(boxes) or not len(by):
        return np.zeros(len(boxes), bool)
    return (intersections(boxes, by) / np.maximum(areas(boxes), 1e-9)[:, None] >= HELD).any(1)


def close_boxes(detect_at: DetectAt, gray: np.ndarray, imgsz: int, conf: float, verifier: Verifier,
                found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boxes and scores the close look adds at `conf` to `found` (the whole-page look's kept boxes) on a page of
    grey pixels `gray` that the detector is shown at `imgsz`; none when the verifier's close look is off."""
    close = verifier.close
    none = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    if close["zoom"] <= 1:
        return none
    floor = min(conf + close["margin"], 1.0)
    boxes, scores = detect_at(imgsz * close["zoom"], verifier.detector_conf(floor))
    small = (boxes[:, 3] - boxes[:, 1]) * imgsz / max(gray.shape) <= close["max_height"]
    if not small.any():
        return none
    boxes, scores, _ = verifier.second_look(gray, boxes[small], scores[small])
    keep = (scores >= floor) & ~held(boxes, np.asarray(found, np.float64).reshape(-1, 4))
    return boxes[keep], scores[keep] - close["margin"]


def page_boxes(detect_at: DetectAt, gray: np.ndarray, imgsz: int, conf: float,
               verifier: Verifier | None) -> tuple[np.ndarray, np.ndarray]:
    """Every box of one page at `conf` as the commands give it, before duplicates of part of a line are dropped:
    the detector at `imgsz`, with a verifier its second look and then its close look."""
    boxes, scores = detect_at(imgsz, verifier.detector_conf(conf) if verifier else conf)
    if verifier is None:
        return boxes, scores
    if len(boxes):
        boxes, scores, _ = verifier.second_look(gray, boxes, scores)
        boxes, scores = boxes[scores >= conf], scores[scores >= conf]
    more, more_scores = close_boxes(detect_at, gray, imgsz, conf, verifier, boxes)
    return np.concatenate([boxes, more]), np.concatenate([scores, more_scores])

"""Ultralytics validation with the verifier: each image's boxes (after NMS) get the second look on the image file
(Verifier.second_look: rescored, edges snapped to the ink) and the close look (close.py) before they are matched to
the labels, so mAP and the plots score what predict returns."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from hwdetect.verify.close import close_boxes, detector_at

if TYPE_CHECKING:  # torch is imported only after hwdetect.training.runtime.setup()
    from hwdetect.verify.net import Verifier


def verified_validator(verifier: Verifier, model_path: Path | None = None, working_conf: float = 0.25):
    """A DetectionValidator class whose predictions get `verifier`'s second look (boxes left below val's conf
    dropped) and, given the detector's `model_path`, its close look (close.py: the boxes at `working_conf`, the
    threshold the commands keep, are the whole-page look's)."""
    import torch
    from ultralytics import YOLO
    from ultralytics.models.yolo.detect import DetectionValidator
    from ultralytics.utils import ops

    closer = functools.cache(lambda: YOLO(str(model_path), task="detect"))
    close = model_path is not None and verifier.close["zoom"] > 1

    class VerifiedValidator(DetectionValidator):
        def update_metrics(self, preds: list[dict], batch: dict) -> None:
            for si, pred in enumerate(preds):
                wanted = len(pred["bboxes"]) or close
                image = cv2.imdecode(np.fromfile(batch["im_file"][si], np.uint8), cv2.IMREAD_COLOR) if wanted else None
                if image is None:  # nothing to look at, or Ultralytics skipped it as corrupt
                    continue
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
                boxes = ops.scale_boxes(batch["img"].shape[2:], pred["bboxes"].clone(), batch["ori_shape"][si],
                                        ratio_pad=batch["ratio_pad"][si]).cpu().numpy()
                conf, source = pred["conf"].cpu().numpy(), np.zeros(0, np.int64)  # no box: the close look's alone
                if len(boxes):
                    boxes, conf, source = verifier.second_look(gray, boxes, conf)
                pred = {k: v[torch.from_numpy(source).to(v.device)] for k, v in pred.items()}  # one box, some pieces
                if close:
                    more, more_conf = close_boxes(self._detect_at(image), gray, self.args.imgsz,
                                                  self.args.conf, verifier, boxes[conf >= working_conf])
                    pred = {k: torch.cat([v, v.new_zeros((len(more),) + v.shape[1:])]) for k, v in pred.items()}
                    boxes, conf = np.concatenate([boxes, more]), np.concatenate([conf, more_conf])
                (gain_y, gain_x), (pad_x, pad_y) = batch["ratio_pad"][si]
                letterboxed = boxes * np.array([gain_x, gain_y, gain_x, gain_y]) + np.array([pad_x, pad_y] * 2)
                pred["bboxes"] = torch.from_numpy(letterboxed).to(pred["bboxes"])  # back to the validator's frame
                pred["conf"] = torch.from_numpy(conf).to(pred["conf"])
                keep = pred["conf"] >= self.args.conf
                preds[si] = {k: v[keep] for k, v in pred.items()}
            super().update_metrics(preds, batch)

        def _detect_at(self, image: np.ndarray):
            return detector_at(closer(), image, iou=self.args.iou, device=self.args.device)

    return VerifiedValidator

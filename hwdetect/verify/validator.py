"""Ultralytics validation with the verifier: each image's boxes (after NMS) get the second look on the image file
(Verifier.second_look: rescored, edges snapped to the ink) before they are matched to the labels, so mAP and the
plots score what predict returns."""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # torch is imported only after hwdetect.training.runtime.setup()
    from hwdetect.verify.net import Verifier


def read_gray(path: str) -> np.ndarray | None:
    """The image as 8-bit grey; None when OpenCV cannot decode it (Ultralytics skipped it as corrupt)."""
    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_GRAYSCALE)  # OpenCV never sees the name


def verified_validator(verifier: Verifier):
    """A DetectionValidator class whose predictions get `verifier`'s second look (boxes left below val's conf
    dropped)."""
    import torch
    from ultralytics.models.yolo.detect import DetectionValidator
    from ultralytics.utils import ops

    class VerifiedValidator(DetectionValidator):
        def update_metrics(self, preds: list[dict], batch: dict) -> None:
            for si, pred in enumerate(preds):
                gray = read_gray(batch["im_file"][si]) if len(pred["bboxes"]) else None
                if gray is None:
                    continue
                (gain_y, gain_x), (pad_x, pad_y) = batch["ratio_pad"][si]
                boxes = ops.scale_boxes(batch["img"].shape[2:], pred["bboxes"].clone(), batch["ori_shape"][si],
                                        ratio_pad=batch["ratio_pad"][si])
                boxes, conf, source = verifier.second_look(gray, boxes.cpu().numpy(), pred["conf"].cpu().numpy())
                pred = {k: v[torch.from_numpy(source).to(v.device)] for k, v in pred.items()}  # one box, some pieces
                letterboxed = boxes * np.array([gain_x, gain_y, gain_x, gain_y]) + np.array([pad_x, pad_y] * 2)
                pred["bboxes"] = torch.from_numpy(letterboxed).to(pred["bboxes"])  # back to the validator's frame
                pred["conf"] = torch.from_numpy(conf).to(pred["conf"].device)
                keep = pred["conf"] >= self.args.conf
                preds[si] = {k: v[keep] for k, v in pred.items()}
            super().update_metrics(preds, batch)

    return VerifiedValidator

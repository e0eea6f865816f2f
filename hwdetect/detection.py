"""A detector on one page image, as predict and pre-annotation run it: the model file loaded and checked, its
input size, its boxes (NMS, the verifier's second look, duplicates of part of a line dropped) in reading order."""
from __future__ import annotations

import ast
from pathlib import Path

from hwdetect.cli import UserError
from hwdetect.evaluation.detector import load_detector
from hwdetect.evaluation.lines import duplicate_parts
from hwdetect.files.yolo_labels import CLASS_NAMES
from hwdetect.paths import shown

FORMATS = {".pt": "pt", ".onnx": "onnx"}


def model_imgsz(model, path: Path, fmt: str, asked: int | None, zoom: int = 1) -> int | list[int]:
    """The requested size, else the model's training (.pt) or export (.onnx) size. zoom: the verifier's close look
    shows the page at that many times the size too, which an ONNX model exported with a fixed input cannot take."""
    if fmt == "pt":
        size = (getattr(model, "ckpt", None) or {}).get("train_args", {}).get("imgsz")
    else:
        import onnx

        graph = onnx.load(str(path), load_external_data=False)
        meta = {p.key: p.value for p in graph.metadata_props}
        size = ast.literal_eval(meta["imgsz"]) if "imgsz" in meta else None
        dims = [d.dim_value or None for d in graph.graph.input[0].type.tensor_type.shape.dim][2:]
        if asked and all(dims) and dims != [asked, asked]:
            raise UserError(f"{shown(path)}: exported with a fixed {dims[0]}x{dims[1]} input, so --imgsz {asked} "
                            f"cannot work; leave --imgsz out, or export the model again at that size")
        if zoom > 1 and all(dims):
            raise UserError(f"{shown(path)}: exported with a fixed {dims[0]}x{dims[1]} input, so the verifier's close "
                            f"look ({zoom}x that size) cannot run; export it again (`dvc repro export` exports "
                            f"with a dynamic input), or pass --no-verifier")
    if asked:
        return asked
    if size is None:
        raise UserError(f"{shown(path)}: the model records no training image size; pass --imgsz")
    return size[0] if isinstance(size, (list, tuple)) and len(set(size)) == 1 else size


def load_model(path: Path, flag: str = "--model"):
    """The YOLO model of a detector of handwriting alone, or UserError naming the file and what is wrong with it."""
    return load_detector(path, flag, classes=len(CLASS_NAMES), name=CLASS_NAMES[0])


def detect(model, bgr, settings: dict) -> list[dict]:
    """Boxes of one BGR image in reading order: {"xyxy": pixels, "score"}, duplicates dropped unless kept; with
    settings["verifier"], given that verifier's second look (Verifier.second_look: rescored, edges on the ink) and
    its close look (close.py), kept at settings["conf"]."""
    import cv2
    import numpy as np

    from hwdetect.verify.close import detector_at, page_boxes

    verifier = None
    if settings.get("verifier"):
        from hwdetect.verify.net import loaded

        verifier = loaded(settings["verifier"])
    detect_at = detector_at(model, bgr, iou=settings["iou"], device=settings["device"], rect=False)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    xyxy, scores = page_boxes(detect_at, gray, settings["imgsz"], settings["conf"], verifier)
    keep = np.ones(len(xyxy), bool) if settings["keep_duplicates"] else ~duplicate_parts(xyxy, scores)
    found = sorted(zip(xyxy[keep].tolist(), scores[keep].tolist()), key=lambda b: (b[0][1], b[0][0]))
    return [{"xyxy": [round(v, 2) for v in xyxy], "score": round(score, 4)} for xyxy, score in found]


def close_zoom(verifier: str | None) -> int:
    """How many times larger the close look of the verifier a command's settings name shows the page (1: none)."""
    if verifier is None:
        return 1
    from hwdetect.verify.net import loaded

    return loaded(verifier).close["zoom"]


def checked_by(verifier: Path | None) -> str | None:
    """The verifier as settings name it (loaded now, so a bad file stops the command before any output)."""
    if verifier is None:
        return None
    from hwdetect.verify.net import loaded

    loaded(shown(verifier.absolute()))
    return shown(verifier.absolute())

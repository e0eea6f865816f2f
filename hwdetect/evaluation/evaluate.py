"""Score a detector on one split of a labelled Ultralytics dataset: Ultralytics validation, the precision-recall
curve, the images with the lowest F1 drawn with predictions and labels, and the offline HTML report."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np
from tqdm import tqdm

from hwdetect.cli import UserError
from hwdetect.evaluation.dataset import class_names, read_dataset
from hwdetect.evaluation.detector import check_file, class_problem, load_detector, refuse
from hwdetect.evaluation.errors import image_errors, summarise
from hwdetect.evaluation.lines import duplicate_parts
from hwdetect.evaluation.metrics import image_f1, pr_points, summary
from hwdetect.evaluation.report import write_report
from hwdetect.evaluation.truth import page_labels
from hwdetect.files.atomic import atomic_dir, command_name, ready_output
from hwdetect.files.walk import display
from hwdetect.files.yolo_labels import CLASS_NAMES, HANDWRITING
from hwdetect.paths import shown
from hwdetect.training.runfiles import copy_plots
from hwdetect.verify.close import detector_at, page_boxes
from hwdetect.verify.validator import verified_validator

if TYPE_CHECKING:  # torch is imported only after hwdetect.training.runtime.setup()
    from hwdetect.verify.net import Verifier

DETECT_CONF = 0.25  # the working threshold: boxes a user would keep, for the worst images and the error breakdown
HANDWRITING_NAME = CLASS_NAMES[HANDWRITING]


def validate(model_path: Path, data: Path, split: str, imgsz: int, batch: int, device, conf: float, iou: float,
             save_dir: Path, plots: bool = True, rect: bool = True, verifier: Verifier | None = None):
    """Ultralytics val on one split of `data`; returns its DetMetrics. rect=False feeds square letterboxed images,
    as a fixed-size ONNX model needs, so that PyTorch and ONNX can be compared on the same input. verifier: boxes
    get its second look and close look before they are matched (hwdetect/verify)."""
    from ultralytics import YOLO

    return YOLO(str(model_path), task="detect").val(
        validator=verified_validator(verifier, model_path, DETECT_CONF) if verifier else None,
        data=str(data), split=split, imgsz=imgsz, batch=batch, device=device, conf=conf, iou=iou, rect=rect,
        plots=plots, save_dir=str(save_dir), exist_ok=True, verbose=False)


class Page(NamedTuple):
    """One evaluated image: the boxes kept at the working threshold (xyxy pixels) with their scores, its labelled
    handwriting lines and, where the set labels print, its print boxes (None otherwise)."""
    image: Path
    boxes: np.ndarray
    scores: np.ndarray
    truth: np.ndarray
    printed: np.ndarray | None


def split_images(data: Path, split: str) -> tuple[list[Path], dict[int, str]]:
    """The images of one split of `data` and its class names; UserError for any problem of the file."""
    from ultralytics.data.utils import check_det_dataset

    images, _ = read_dataset(data, split)
    try:  # what read_dataset does not check, Ultralytics does
        check_det_dataset(str(data), autodownload=False)
    except Exception as err:  # noqa: BLE001 (Ultralytics raises several kinds for a bad dataset file)
        reason = str(err).strip().split("\n")[0][:200] or type(err).__name__
        raise UserError(f"{display(data)}: not a usable Ultralytics dataset ({reason}); see "
                        f"docs.ultralytics.com/datasets/detect") from None
    return images, class_names(data)


def handwriting_detector(model: Path) -> None:
    """Refuse a model that is no handwriting detector: its class 0 must be handwriting, alone or beside others (a
    model that also detects print); only its class 0 is scored."""
    names = list(load_detector(model, "", None).names.values())
    if len(names) != 1 and names[:1] != [HANDWRITING_NAME]:
        raise refuse(check_file(model, ""), f"detects {len(names)} classes, expected 1 or {HANDWRITING_NAME} as "
                                            f"class 0")
    if problem := class_problem(names, None, HANDWRITING_NAME):
        raise refuse(check_file(model, ""), problem)


def split_labels(images: list[Path], names: dict[int, str]) -> list[tuple]:
    """The labels of every image (truth.page_labels), all read before any inference: a bad file stops it first."""
    return [page_labels(image, names) for image in images]


def predictions(model_path: Path, images: list[Path], labels: list[tuple], imgsz: int, device,
                conf: float = DETECT_CONF, verifier: Verifier | None = None) -> list[Page]:
    """Every image with the boxes of class 0 that `predict` gives at the threshold `conf` (duplicates of part of a
    line dropped; with a verifier, its second and close looks: close.page_boxes) and its labels (split_labels)."""
    from ultralytics import YOLO

    model, found = YOLO(str(model_path), task="detect"), []
    for image, (truth, printed) in zip(tqdm(images, desc="error breakdown", unit="image", leave=False), labels):
        bgr = cv2.imdecode(np.fromfile(image, np.uint8), cv2.IMREAD_COLOR)  # OpenCV never sees a name
        if bgr is None:  # Ultralytics validation skipped it as corrupt, so no box of it counts either
            continue
        h, w = bgr.shape[:2]
        boxes, scores = page_boxes(detector_at(model, bgr, device=device, classes=[HANDWRITING]),
                                   cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), imgsz, conf, verifier)
        keep = ~duplicate_parts(boxes, scores)
        scale = np.array([w, h, w, h], float)
        printed = None if printed is None else printed * scale
        found.append(Page(image, boxes[keep], scores[keep], truth * scale, printed))
    return found


def breakdown(found: list[Page]) -> dict:
    """The error breakdown (errors.py) of evaluated pages."""
    return summarise([image_errors(page.boxes, page.truth, page.printed) for page in found])


def worst_images(found: list[tuple], out: Path, count: int) -> list:
    """Draw the `count` images with the lowest F1 (predictions in red, labels in green)."""
    scored = [(image_f1(p.boxes, p.truth), p.image.name, p.image, p.boxes, p.scores, p.truth) for p in found]
    out.mkdir()
    drawn = []
    for f1, _, image, pred, conf, truth in sorted(scored, key=lambda s: (s[0], s[1]))[:count]:
        img = cv2.imdecode(np.fromfile(image, np.uint8), cv2.IMREAD_COLOR)  # OpenCV never sees a name
        if img is None:  # Ultralytics skipped it as corrupt, so no box of it counts either
            continue
        for x0, y0, x1, y1 in truth.round().astype(int):
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 170, 0), 2)
        for (x0, y0, x1, y1), score in zip(pred.round().astype(int), conf):
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 220), 1)
            cv2.putText(img, f"{score:.2f}", (x0, y0 - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 220))
        target = out / f"{image.stem}.jpg"
        target.write_bytes(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
        drawn.append((target, f1))
    return drawn


def training_curves(results_csv: Path) -> dict[str, list[tuple[float, float]]]:
    with results_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {name: [(float(r["epoch"]), float(r[key])) for r in rows]
            for name, key in (("mAP50", "metrics/mAP50(B)"), ("mAP50-95", "metrics/mAP50-95(B)"))}


def evaluate(model: Path, data: Path, split: str, out_dir: Path, work: Path, settings: dict,
             training_results: Path | None = None, verifier: Verifier | None = None) -> tuple[dict, dict]:
    """Score `model` on `split` of `data` into out_dir (replaced whole on success); the metrics and Ultralytics'
    speed. settings: imgsz, batch, device, conf, iou, examples (and keep_conf, the error breakdown's threshold:
    DETECT_CONF unless given). training_results: a results.csv to chart. verifier: the second look at each box."""
    inputs = [model, data if data.is_dir() else data.parent]
    ready_output(out_dir, command_name(), inputs)  # the cheap check first, before a model is loaded
    images, names = split_images(data, split)
    labels = split_labels(images, names)
    handwriting_detector(model)
    s = settings
    with atomic_dir(out_dir, inputs) as out:
        m = validate(model, data, split, s["imgsz"], s["batch"], s["device"], s["conf"], s["iou"], work,
                     verifier=verifier)
        copy_plots(work, out)
        points = pr_points(m)
        (out / "pr_curve.csv").write_text("recall,precision\n" + "".join(f"{r},{q}\n" for r, q in points))
        found = predictions(model, images, labels, s["imgsz"], s["device"], s.get("keep_conf", DETECT_CONF),
                            verifier)
        worst = worst_images(found, out / "predictions", s["examples"])
        errors = {**breakdown(found), "keep_conf": s.get("keep_conf", DETECT_CONF)}
        metrics = {**summary(m, len(images)), "errors": errors}
        curves = training_curves(training_results) if training_results and training_results.exists() else None
        write_report(out / "report.html", f"Evaluation of {model.name} on {shown(data)} ({split})", metrics, points,
                     curves, out / "confusion_matrix.png", [(out / "predictions" / t.name, f1) for t, f1 in worst])
    return metrics, m.speed

"""Score a detector on one split of a labelled Ultralytics dataset: Ultralytics validation, the precision-recall
curve, the images with the lowest F1 drawn with predictions and labels, and the offline HTML report."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from hwdetect.cli import UserError
from hwdetect.evaluation.dataset import read_dataset
from hwdetect.evaluation.detector import load_detector
from hwdetect.evaluation.errors import image_errors, summarise
from hwdetect.evaluation.lines import duplicate_parts
from hwdetect.evaluation.metrics import image_f1, pr_points, summary
from hwdetect.evaluation.report import write_report
from hwdetect.files.atomic import atomic_dir, command_name, ready_output
from hwdetect.files.walk import display
from hwdetect.files.yolo_labels import read_boxes
from hwdetect.paths import shown
from hwdetect.training.runfiles import copy_plots

DETECT_CONF = 0.25  # the working threshold: boxes a user would keep, for the worst images and the error breakdown


def validate(model_path: Path, data: Path, split: str, imgsz: int, batch: int, device, conf: float, iou: float,
             save_dir: Path, plots: bool = True, rect: bool = True):
    """Ultralytics val on one split of `data`; returns its DetMetrics. rect=False feeds square letterboxed images,
    as a fixed-size ONNX model needs, so that PyTorch and ONNX can be compared on the same input."""
    from ultralytics import YOLO

    return YOLO(str(model_path), task="detect").val(
        data=str(data), split=split, imgsz=imgsz, batch=batch, device=device, conf=conf, iou=iou, rect=rect,
        plots=plots, save_dir=str(save_dir), exist_ok=True, verbose=False)


def split_images(data: Path, split: str) -> tuple[list[Path], int]:
    """The images of one split of `data` and its number of classes; UserError for any problem of the file."""
    from ultralytics.data.utils import check_det_dataset

    images, classes = read_dataset(data, split)
    try:  # what read_dataset does not check, Ultralytics does
        check_det_dataset(str(data), autodownload=False)
    except Exception as err:  # noqa: BLE001 (Ultralytics raises several kinds for a bad dataset file)
        reason = str(err).strip().split("\n")[0][:200] or type(err).__name__
        raise UserError(f"{display(data)}: not a usable Ultralytics dataset ({reason}); see "
                        f"docs.ultralytics.com/datasets/detect") from None
    return images, classes


def ground_truth(image: Path, width: int, height: int) -> np.ndarray:
    """The labelled boxes of an image (N×4, xyxy pixels); none when it has no label file."""
    from ultralytics.data.utils import img2label_paths

    label = Path(img2label_paths([str(image)])[0])
    boxes = read_boxes(label, fix="fix the label file") if label.exists() else []
    return np.array(boxes, float).reshape(-1, 4) * (width, height, width, height)


def predictions(model_path: Path, images: list[Path], imgsz: int, device) -> list[tuple]:
    """(image, boxes, scores, labelled boxes) per image, xyxy pixels: the boxes `predict` gives at the working
    threshold DETECT_CONF, duplicates of part of a line dropped."""
    from ultralytics import YOLO

    model, found = YOLO(str(model_path), task="detect"), []
    for image in images:
        result = model.predict(str(image), imgsz=imgsz, device=device, conf=DETECT_CONF, verbose=False)[0]
        h, w = result.orig_shape
        boxes, scores = result.boxes.xyxy.cpu().numpy(), result.boxes.conf.cpu().numpy()
        keep = ~duplicate_parts(boxes, scores)
        found.append((image, boxes[keep], scores[keep], ground_truth(image, w, h)))
    return found


def worst_images(found: list[tuple], out: Path, count: int) -> list:
    """Draw the `count` images with the lowest F1 (predictions in red, labels in green)."""
    scored = [(image_f1(pred, truth), image.name, image, pred, conf, truth) for image, pred, conf, truth in found]
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
             training_results: Path | None = None) -> tuple[dict, dict]:
    """Score `model` on `split` of `data` into out_dir (replaced whole on success); the metrics and Ultralytics'
    speed. settings: imgsz, batch, device, conf, iou, examples. training_results: a results.csv to chart."""
    inputs = [model, data if data.is_dir() else data.parent]
    ready_output(out_dir, command_name(), inputs)  # the cheap check first, before a model is loaded
    images, classes = split_images(data, split)
    load_detector(model, "", classes)
    s = settings
    with atomic_dir(out_dir, inputs) as out:
        m = validate(model, data, split, s["imgsz"], s["batch"], s["device"], s["conf"], s["iou"], work)
        copy_plots(work, out)
        points = pr_points(m)
        (out / "pr_curve.csv").write_text("recall,precision\n" + "".join(f"{r},{q}\n" for r, q in points))
        found = predictions(model, images, s["imgsz"], s["device"])
        worst = worst_images(found, out / "predictions", s["examples"])
        errors = summarise([image_errors(pred, truth) for _, pred, _, truth in found])
        metrics = {**summary(m, len(images)), "errors": errors}
        curves = training_curves(training_results) if training_results and training_results.exists() else None
        write_report(out / "report.html", f"Evaluation of {model.name} on {shown(data)} ({split})", metrics, points,
                     curves, out / "confusion_matrix.png", [(out / "predictions" / t.name, f1) for t, f1 in worst])
    return metrics, m.speed

"""Score a detector on one split of a labelled Ultralytics dataset: Ultralytics validation, the precision-recall
curve, the images with the lowest F1 drawn with predictions and labels, and the offline HTML report."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from hwdetect.cli import UserError
from hwdetect.evaluation.errors import image_errors, summarise
from hwdetect.evaluation.lines import duplicate_parts
from hwdetect.evaluation.metrics import image_f1, pr_points, summary
from hwdetect.evaluation.report import write_report
from hwdetect.files.atomic import atomic_dir
from hwdetect.files.walk import visible_files
from hwdetect.files.yolo_labels import read_boxes
from hwdetect.paths import shown
from hwdetect.sources.images import IMAGE_SUFFIXES
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


def split_images(data: Path, split: str) -> list[Path]:
    from ultralytics.data.utils import check_det_dataset

    try:
        folder = check_det_dataset(str(data))[split]
    except Exception as err:  # Ultralytics raises several kinds for a bad dataset file
        raise UserError(f"{shown(data)}: not a usable Ultralytics dataset ({err}); see docs.ultralytics.com/datasets/detect")
    images = [p for p in visible_files(Path(folder)) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise UserError(f"{shown(data)}: split {split!r} has no images in {folder}")
    return images


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
        img = cv2.imread(str(image))
        for x0, y0, x1, y1 in truth.round().astype(int):
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 170, 0), 2)
        for (x0, y0, x1, y1), score in zip(pred.round().astype(int), conf):
            cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 220), 1)
            cv2.putText(img, f"{score:.2f}", (x0, y0 - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 220))
        target = out / f"{image.stem}.jpg"
        cv2.imwrite(str(target), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
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
    for path in (model, data):
        if not path.exists():
            raise UserError(f"{shown(path)}: not found; run the pipeline first (dvc repro) or give an existing path")
    images = split_images(data, split)
    s = settings
    with atomic_dir(out_dir) as out:
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

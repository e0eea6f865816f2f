"""Stage `evaluate`: score a detector on a labelled set and write an offline HTML report.

As a pipeline stage (no arguments) it scores models/detector/best.pt on the test split and writes
metrics/eval.json (precision, recall, F1, mAP50, mAP50-95, image and instance counts), reports/eval/ (report.html,
pr_curve.csv for `dvc plots`, confusion matrices, the worst test images by F1 with predictions in red and labels in
green) and metrics/timing/evaluate.json (ms per image: wall-clock figures stay out of git and dvc.lock).

Any model on any labelled set: `python -m stages.evaluate --model best.pt|best.onnx --data path/to/dataset.yaml`
writes the same files (metrics.json, report.html, ...) into --out (default runs/evaluate/<dataset folder>).
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from stages import params as P
from stages import runtime
from stages.common import ROOT, UserError, atomic_dir, cli, log, rounded, shown, write_json
from stages.images import IMAGE_SUFFIXES
from stages.report import write_report
from stages.runfiles import copy_plots

MODEL = ROOT / "models" / "detector" / "best.pt"
DATASET = ROOT / "data" / "split" / "dataset.yaml"
TEST_IMAGES = ROOT / "data" / "split" / "images" / "test"
REPORT = ROOT / "reports" / "eval"
METRICS = ROOT / "metrics" / "eval.json"
TIMING = ROOT / "metrics" / "timing" / "evaluate.json"
TRAIN_RESULTS = ROOT / "reports" / "train" / "results.csv"
WORK = Path("runs/eval")
START_DIR = Path.cwd()  # cli() moves to the project root; paths on the command line are the user's


def validate(model_path: Path, imgsz: int, batch: int, device, conf: float, iou: float, save_dir: Path | None,
             data: Path = DATASET, split: str = "test", rect: bool = True):
    """Ultralytics val on one split of `data`; returns its DetMetrics. rect=False feeds square letterboxed images,
    as a fixed-size ONNX model needs, so that PyTorch and ONNX can be compared on the same input."""
    from ultralytics import YOLO

    return YOLO(str(model_path), task="detect").val(
        data=shown(data), split=split, imgsz=imgsz, batch=batch, device=device, conf=conf, iou=iou, rect=rect,
        plots=save_dir is not None, save_dir=str(save_dir or WORK), exist_ok=True, verbose=False)


def summary(m, images: int) -> dict:
    p, r = float(m.box.mp), float(m.box.mr)
    return {**rounded({"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                       "mAP50": m.box.map50, "mAP50-95": m.box.map}),
            "images": images, "instances": int(m.nt_per_class.sum())}


def pr_points(m) -> list[tuple[float, float]]:
    """Precision against recall at 101 recall points."""
    recall, precision = m.box.curves_results[0][0], m.box.curves_results[0][1][0]
    idx = np.linspace(0, len(recall) - 1, 101).round().astype(int)
    return [(round(float(recall[i]), 4), round(float(precision[i]), 4)) for i in idx]


def split_images(data: Path, split: str) -> list[Path]:
    from ultralytics.data.utils import check_det_dataset

    try:
        folder = check_det_dataset(str(data))[split]
    except Exception as err:  # Ultralytics raises several kinds for a bad dataset file
        raise UserError(f"{shown(data)}: not a usable Ultralytics dataset ({err}); see docs.ultralytics.com/datasets/detect")
    images = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UserError(f"{shown(data)}: split {split!r} has no images in {folder}")
    return images


def ground_truth(image: Path, width: int, height: int) -> np.ndarray:
    from ultralytics.data.utils import img2label_paths

    label = Path(img2label_paths([str(image)])[0])
    rows = [r.split() for r in label.read_text().splitlines() if r.strip()] if label.exists() else []
    boxes = [(float(cx) - float(w) / 2, float(cy) - float(h) / 2, float(cx) + float(w) / 2, float(cy) + float(h) / 2)
             for _, cx, cy, w, h in rows]
    return np.array(boxes, float).reshape(-1, 4) * (width, height, width, height)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N×4, xyxy) with every box in b (M×4)."""
    lo, hi = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def image_f1(pred: np.ndarray, truth: np.ndarray, iou_min: float = 0.5) -> float:
    """F1 of one image: predictions (sorted by score) each take the best unmatched truth with IoU >= iou_min."""
    if not len(pred) or not len(truth):
        return float(len(pred) == len(truth))
    matched: set[int] = set()
    for row in box_iou(pred, truth):
        free = [k for k in np.argsort(-row) if k not in matched and row[k] >= iou_min]
        if free:
            matched.add(int(free[0]))
    return 2 * len(matched) / (len(pred) + len(truth))


def worst_images(model_path: Path, images: list[Path], out: Path, count: int, imgsz: int, device) -> list:
    """Draw the `count` images with the lowest F1 (predictions at conf 0.25 in red, labels in green)."""
    from ultralytics import YOLO

    model, scored = YOLO(str(model_path), task="detect"), []
    for image in images:
        result = model.predict(str(image), imgsz=imgsz, device=device, conf=0.25, verbose=False)[0]
        h, w = result.orig_shape
        pred, truth = result.boxes.xyxy.numpy(), ground_truth(image, w, h)
        scored.append((image_f1(pred, truth), image.name, image, pred, result.boxes.conf.numpy(), truth))
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


def training_curves() -> dict[str, list[tuple[float, float]]]:
    with TRAIN_RESULTS.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {name: [(float(r["epoch"]), float(r[key])) for r in rows]
            for name, key in (("mAP50", "metrics/mAP50(B)"), ("mAP50-95", "metrics/mAP50-95(B)"))}


def evaluate(model: Path, data: Path, split: str, out_dir: Path, p: dict, imgsz: int, curves: bool) -> tuple:
    prof, e = P.profile(p), p["evaluate"]
    for path in (model, data):
        if not path.exists():
            raise UserError(f"{shown(path)}: not found; run the pipeline first (dvc repro) or give an existing path")
    images = split_images(data, split)
    with atomic_dir(out_dir) as out:
        m = validate(model, imgsz, prof["batch"], prof["device"], e["conf"], e["iou"], WORK, data, split)
        copy_plots(WORK, out)
        points = pr_points(m)
        (out / "pr_curve.csv").write_text("recall,precision\n" + "".join(f"{r},{q}\n" for r, q in points))
        worst = worst_images(model, images, out / "predictions", e["examples"], imgsz, prof["device"])
        metrics = summary(m, len(images))
        write_report(out / "report.html", f"Evaluation of {model.name} on {shown(data)} ({split})", metrics, points,
                     training_curves() if curves and TRAIN_RESULTS.exists() else None,
                     out / "confusion_matrix.png", [(out / "predictions" / t.name, f1) for t, f1 in worst])
    return metrics, m.speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: evaluate, "
                                     "train.profile, train.threads, profiles.<train.profile>.")
    parser.add_argument("--model", type=Path, help="a .pt or .onnx detector (default: the pipeline's best.pt)")
    parser.add_argument("--data", type=Path, help="an Ultralytics dataset.yaml (default: the pipeline's split)")
    parser.add_argument("--split", default="test", help="which split of --data to score (default: test)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/evaluate/<dataset folder>)")
    parser.add_argument("--imgsz", type=int, help="inference size (default: the training profile's imgsz)")
    a = parser.parse_args()
    p = P.load()
    imgsz = a.imgsz or P.profile(p)["imgsz"]
    runtime.setup(p["train"]["threads"])
    if a.model is None and a.data is None and a.out is None:
        metrics, speed = evaluate(MODEL, DATASET, "test", REPORT, p, imgsz, curves=True)
        write_json(METRICS, metrics)
        write_json(TIMING, {"ms_per_image": rounded(speed, 2), "device": str(P.profile(p)["device"])})
        where = shown(REPORT / "report.html")
    else:
        model, data = (START_DIR / (a.model or MODEL)).resolve(), (START_DIR / (a.data or DATASET)).resolve()
        out = (START_DIR / (a.out or ROOT / "runs" / "evaluate" / data.parent.name)).resolve()
        metrics, speed = evaluate(model, data, a.split, out, p, imgsz, curves=model == MODEL)
        write_json(out / "metrics.json", {**metrics, "ms_per_image": rounded(speed, 2)})
        where = shown(out / "report.html")
    log.info(f"evaluate: mAP50 {metrics['mAP50']:.3f}, mAP50-95 {metrics['mAP50-95']:.3f}, F1 {metrics['f1']:.3f} "
             f"on {metrics['images']} images, {speed['inference']:.1f} ms/image inference; report {where}")


if __name__ == "__main__":
    cli(main)

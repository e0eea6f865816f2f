"""Stage `evaluate`: score models/detector/best.pt on the test split.

Writes metrics/eval.json (precision, recall, F1, mAP50, mAP50-95, image and instance counts), reports/eval/
(pr_curve.csv for `dvc plots`, confusion matrices, PR/F1 curves, test images with predictions in red and labels in
green) and metrics/timing/evaluate.json (ms per image; wall-clock figures stay out of git and dvc.lock).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from stages import params as P
from stages import runtime
from stages.common import ROOT, UserError, atomic_dir, cli, log, rounded, write_json, shown
from stages.runfiles import copy_plots

MODEL = ROOT / "models" / "detector" / "best.pt"
DATASET = ROOT / "data" / "split" / "dataset.yaml"
TEST_IMAGES = ROOT / "data" / "split" / "images" / "test"
REPORT = ROOT / "reports" / "eval"
METRICS = ROOT / "metrics" / "eval.json"
TIMING = ROOT / "metrics" / "timing" / "evaluate.json"
WORK = Path("runs/eval")


def validate(model_path: Path, imgsz: int, batch: int, device, conf: float, iou: float, save_dir: Path | None):
    """Ultralytics val on the test split; returns its DetMetrics."""
    from ultralytics import YOLO

    return YOLO(str(model_path), task="detect").val(
        data=shown(DATASET), split="test", imgsz=imgsz, batch=batch, device=device, conf=conf,
        iou=iou, plots=save_dir is not None, save_dir=str(save_dir or WORK), exist_ok=True, verbose=False)


def summary(m, images: int) -> dict:
    p, r = float(m.box.mp), float(m.box.mr)
    return {**rounded({"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
                       "mAP50": m.box.map50, "mAP50-95": m.box.map}),
            "images": images, "instances": int(m.nt_per_class.sum())}


def write_pr_curve(m, path: Path) -> None:
    """Precision against recall at 101 recall points, for `dvc plots`."""
    recall, precision = m.box.curves_results[0][0], m.box.curves_results[0][1][0]
    idx = np.linspace(0, len(recall) - 1, 101).round().astype(int)
    path.write_text("recall,precision\n" + "".join(f"{recall[i]:.4f},{precision[i]:.4f}\n" for i in idx))


def draw_examples(model_path: Path, images: list[Path], out: Path, imgsz: int, device, conf: float) -> None:
    """Predictions (red, with scores) and ground truth (green) drawn on a few test images."""
    from ultralytics import YOLO

    model = YOLO(str(model_path), task="detect")
    out.mkdir()
    for image in images:
        img = cv2.imread(str(image))
        h, w = img.shape[:2]
        label = image.parent.parent.parent / "labels" / image.parent.name / f"{image.stem}.txt"
        for row in label.read_text().split("\n") if label.exists() else []:
            if row.strip():
                _, cx, cy, bw, bh = map(float, row.split())
                cv2.rectangle(img, (round((cx - bw / 2) * w), round((cy - bh / 2) * h)),
                              (round((cx + bw / 2) * w), round((cy + bh / 2) * h)), (0, 170, 0), 2)
        result = model.predict(str(image), imgsz=imgsz, device=device, conf=conf, verbose=False)[0]
        for (x0, y0, x1, y1), score in zip(result.boxes.xyxy.tolist(), result.boxes.conf.tolist()):
            cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), (0, 0, 220), 1)
            cv2.putText(img, f"{score:.2f}", (round(x0), round(y0) - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 220))
        cv2.imwrite(str(out / f"{image.stem}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: evaluate, train.profile, train.threads, "
                                   "profiles.<train.profile>.").parse_args()
    p = P.load()
    for path in (MODEL, DATASET):
        if not path.exists():
            raise UserError(f"{shown(path)}: missing; run the pipeline first (dvc repro)")
    prof, e = P.profile(p), p["evaluate"]
    runtime.setup(p["train"]["threads"])
    with atomic_dir(REPORT) as out:
        m = validate(MODEL, prof["imgsz"], prof["batch"], prof["device"], e["conf"], e["iou"], WORK)
        copy_plots(WORK, out)
        write_pr_curve(m, out / "pr_curve.csv")
        images = sorted(TEST_IMAGES.iterdir())
        draw_examples(MODEL, images[: e["examples"]], out / "predictions", prof["imgsz"], prof["device"], 0.25)
    metrics = summary(m, len(images))
    write_json(METRICS, metrics)
    write_json(TIMING, {"ms_per_image": rounded(m.speed, 2), "device": str(prof["device"])})
    log.info(f"evaluate: test mAP50 {metrics['mAP50']:.3f}, mAP50-95 {metrics['mAP50-95']:.3f}, "
             f"F1 {metrics['f1']:.3f} on {metrics['images']} images, {m.speed['inference']:.1f} ms/image inference")


if __name__ == "__main__":
    cli(main)

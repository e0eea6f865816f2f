"""Stage `train`: train YOLOv8n on data/split with the hardware profile chosen by `train.profile`.

Ultralytics works in runs/train (git-ignored; watch it live with `tensorboard --logdir runs/train`). The stage then
publishes models/detector/best.pt, reports/train/ (results.csv, plots, tensorboard/) and metrics/train.json, all
with bytes that depend only on the training. Wall-clock figures go to metrics/timing/train.json (not in git).

Resume an interrupted training (Ctrl-C, power cut) with `RESUME=1 dvc repro train`, or
`python -m stages.train --resume`: it continues runs/train/weights/last.pt. A resumed model is valid but not
guaranteed bit-identical to an uninterrupted one; `dvc repro -f train` retrains from scratch.
"""
from __future__ import annotations

import argparse
import os

from hwdetect import paths
from hwdetect.cli import UserError, cli, log
from hwdetect.config import params
from hwdetect.training.runfiles import rounded
from hwdetect.files.atomic import write_json
from hwdetect.paths import shown
from hwdetect.training import runtime
from hwdetect.training.trainer import model_file, publish, train, ultralytics_args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="Reads params.yaml: seed, train, profiles.<train.profile>.")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run (or set RESUME=1)")
    resume = parser.parse_args().resume or os.environ.get("RESUME", "") not in ("", "0")
    p = params.load()
    if not paths.DATASET.exists():
        raise UserError(f"{shown(paths.DATASET)}: missing; run the split stage first (dvc repro split)")
    name, prof = p["train"]["profile"], params.profile(p)
    threads = runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    args = ultralytics_args(name, prof, p["seed"], paths.DATASET, paths.TRAIN_RUN)
    weights = model_file(name, prof, p["train"]["pretrained_dir"], p["train"]["weights_url"])
    seconds, batch = train(weights, args, resume, name, prof)

    pipeline = {"profile": name, "seed": p["seed"], "threads": threads, "cpu_isa": runtime.cpu_isa_in_use(),
                "model": prof["model"], **({"model_sha256": prof["sha256"]} if weights.endswith(".pt") else {})}
    best, rows = publish(paths.TRAIN_RUN, paths.MODEL, paths.TRAIN_REPORT, pipeline)
    metrics = rounded({
        "precision": best["metrics/precision(B)"], "recall": best["metrics/recall(B)"],
        "mAP50": best["metrics/mAP50(B)"], "mAP50-95": best["metrics/mAP50-95(B)"],
        "box_loss": best["val/box_loss"], "cls_loss": best["val/cls_loss"], "dfl_loss": best["val/dfl_loss"]})
    write_json(paths.metrics_file("train"), {"val": metrics, "best_epoch": int(best["epoch"]), "epochs": len(rows),
                                             "imgsz": prof["imgsz"], "batch": batch, "nbs": args.get("nbs", 64),
                                             **pipeline})
    write_json(paths.timing_file("train"), {"train_seconds": round(seconds, 1),
                                            "seconds_per_epoch": round(seconds / max(len(rows), 1), 2)})
    log.info(f"train: best epoch {int(best['epoch'])}/{len(rows)}, val mAP50 {metrics['mAP50']:.3f}, "
             f"mAP50-95 {metrics['mAP50-95']:.3f}, {seconds:.0f} s → {shown(paths.MODEL)}")


if __name__ == "__main__":
    cli(main)

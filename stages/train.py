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
import time
from pathlib import Path

from stages import params as P
from stages import runtime
from stages.common import ROOT, UserError, atomic_dir, cli, log, remove, rounded, write_json, shown
from stages.runfiles import canonical_checkpoint, copy_plots, results_rows, write_results, write_tensorboard

DATASET = "data/split/dataset.yaml"
WORK = Path("runs/train")
MODEL = ROOT / "models" / "detector" / "best.pt"
REPORT = ROOT / "reports" / "train"
METRICS = ROOT / "metrics" / "train.json"
TIMING = ROOT / "metrics" / "timing" / "train.json"
# Product defaults, overridable in a profile: mirrored handwriting is not handwriting.
DEFAULTS = {"fliplr": 0.0, "deterministic": True, "plots": True, "val": True, "exist_ok": True}


def resolve_model(name: str, pretrained_dir: str, profile: str) -> str:
    """`*.yaml` builds the architecture from scratch; `*.pt` must be on disk (nothing is downloaded)."""
    if name.endswith(".yaml"):
        return name
    path = Path(name) if "/" in name else Path(pretrained_dir) / name
    if not path.exists():
        raise UserError(
            f"{path}: pretrained weights not found; download {path.name} from "
            f"https://github.com/ultralytics/assets/releases into {path.parent}/, or set "
            f"profiles.{profile}.model: yolov8n.yaml in params.yaml to train from scratch")
    return str(path)


def check_device(device: str | int, profile: str) -> None:
    import torch

    if str(device).lower() not in ("cpu", "mps") and not torch.cuda.is_available():
        raise UserError(
            f"params.yaml: profiles.{profile}.device is {device!r} but torch sees no CUDA GPU on this machine; "
            f"use the cpu profile (dvc exp run -S train.profile=cpu) or set profiles.{profile}.device: cpu")


def interrupted_run() -> Path | None:
    """last.pt of an unfinished run (Ultralytics strips the epoch to -1 when a run completes)."""
    import torch

    last = WORK / "weights" / "last.pt"
    if not last.exists():
        return None
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    return last if ckpt.get("epoch", -1) >= 0 else None


def ultralytics_args(p: dict, save_dir: Path = WORK) -> tuple[str, dict]:
    """The model file and Ultralytics train arguments for the selected profile."""
    profile_name = p["train"]["profile"]
    prof = P.profile(p)
    check_device(prof["device"], profile_name)
    model_file = resolve_model(prof.pop("model"), p["train"]["pretrained_dir"], profile_name)
    prof["nbs"] = prof["batch"] * prof.pop("accumulate", 1)
    return model_file, {**DEFAULTS, **prof, "data": DATASET, "seed": p["seed"], "save_dir": str(save_dir)}


def train(p: dict, resume: bool) -> dict:
    threads = runtime.setup(p["train"]["threads"])
    model_file, args = ultralytics_args(p)

    from ultralytics import YOLO

    last = interrupted_run()
    start = time.perf_counter()
    if resume and last:
        log.info(f"train: resuming the interrupted run {last}")
        YOLO(str(last)).train(resume=True)
    else:
        if last:
            log.info(f"train: {last} is an unfinished run; starting over (RESUME=1 continues it instead)")
        remove(WORK)
        YOLO(model_file).train(**args)
    seconds = time.perf_counter() - start
    return {"threads": threads, "nbs": args["nbs"], "seconds": seconds}


def publish(p: dict, info: dict) -> None:
    rows = results_rows(WORK / "results.csv")
    best = max(rows, key=lambda r: 0.1 * r["metrics/mAP50(B)"] + 0.9 * r["metrics/mAP50-95(B)"])
    prof = P.profile(p)
    pipeline = {"profile": p["train"]["profile"], "seed": p["seed"], "threads": info["threads"],
                "cpu_isa": runtime.CPU_ISA, "model": prof["model"]}
    canonical_checkpoint(WORK / "weights" / "best.pt", MODEL, pipeline)
    with atomic_dir(REPORT) as out:
        write_results(rows, out / "results.csv")
        copy_plots(WORK, out)
        write_tensorboard(rows, out / "tensorboard")
    metrics = rounded({
        "precision": best["metrics/precision(B)"], "recall": best["metrics/recall(B)"],
        "mAP50": best["metrics/mAP50(B)"], "mAP50-95": best["metrics/mAP50-95(B)"],
        "box_loss": best["val/box_loss"], "cls_loss": best["val/cls_loss"], "dfl_loss": best["val/dfl_loss"]})
    write_json(METRICS, {"val": metrics, "best_epoch": int(best["epoch"]), "epochs": len(rows),
                         "imgsz": prof["imgsz"], "batch": prof["batch"], "nbs": info["nbs"], **pipeline})
    write_json(TIMING, {"train_seconds": round(info["seconds"], 1),
                        "seconds_per_epoch": round(info["seconds"] / max(len(rows), 1), 2)})
    log.info(f"train: best epoch {int(best['epoch'])}/{len(rows)}, val mAP50 {metrics['mAP50']:.3f}, "
             f"mAP50-95 {metrics['mAP50-95']:.3f}, {info['seconds']:.0f} s → {shown(MODEL)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="Reads params.yaml: seed, train, profiles.<train.profile>.")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run (or set RESUME=1)")
    resume = parser.parse_args().resume or os.environ.get("RESUME", "") not in ("", "0")
    p = P.load()
    if not (ROOT / DATASET).exists():
        raise UserError(f"{DATASET}: missing; run the split stage first (dvc repro split)")
    info = train(p, resume)
    publish(p, info)


if __name__ == "__main__":
    cli(main)

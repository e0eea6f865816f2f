"""Train YOLOv8n with Ultralytics from a hardware profile, and publish the run as the pipeline's outputs.

Ultralytics works in a scratch run folder (git-ignored; watch it live with `tensorboard --logdir runs/train`).
An interrupted run (Ctrl-C, power cut) leaves its last.pt there, which `resume` continues.
"""
from __future__ import annotations

import time
from pathlib import Path

from hwdetect.cli import UserError, log
from hwdetect.files.atomic import atomic_dir, remove
from hwdetect.training.runfiles import canonical_checkpoint, copy_plots, results_rows, write_results, write_tensorboard

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


def interrupted_run(work: Path) -> Path | None:
    """last.pt of an unfinished run (Ultralytics strips the epoch to -1 when a run completes)."""
    import torch

    last = work / "weights" / "last.pt"
    if not last.exists():
        return None
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    return last if ckpt.get("epoch", -1) >= 0 else None


def ultralytics_args(profile_name: str, profile: dict, seed: int, pretrained_dir: str, dataset: Path,
                     save_dir: Path) -> tuple[str, dict]:
    """The model file and Ultralytics train arguments for a profile (a dict of params.yaml `profiles`)."""
    prof = dict(profile)
    check_device(prof["device"], profile_name)
    model_file = resolve_model(prof.pop("model"), pretrained_dir, profile_name)
    prof["nbs"] = prof["batch"] * prof.pop("accumulate", 1)
    return model_file, {**DEFAULTS, **prof, "data": str(dataset), "seed": seed, "save_dir": str(save_dir)}


def train(model_file: str, args: dict, resume: bool) -> float:
    """Train in args["save_dir"], continuing an interrupted run there when `resume`; return the seconds taken."""
    from ultralytics import YOLO

    work = Path(args["save_dir"])
    last = interrupted_run(work)
    start = time.perf_counter()
    if resume and last:
        log.info(f"train: resuming the interrupted run {last}")
        YOLO(str(last)).train(resume=True)
    else:
        if last:
            log.info(f"train: {last} is an unfinished run; starting over (RESUME=1 continues it instead)")
        remove(work)
        YOLO(model_file).train(**args)
    return time.perf_counter() - start


def publish(work: Path, model_out: Path, report_out: Path, pipeline: dict) -> tuple[dict, list[dict]]:
    """Write the canonical best.pt and the report folder from a finished run; return the best epoch and all rows."""
    rows = results_rows(work / "results.csv")
    best = max(rows, key=lambda r: 0.1 * r["metrics/mAP50(B)"] + 0.9 * r["metrics/mAP50-95(B)"])
    canonical_checkpoint(work / "weights" / "best.pt", model_out, pipeline)
    with atomic_dir(report_out) as out:
        write_results(rows, out / "results.csv")
        copy_plots(work, out)
        write_tensorboard(rows, out / "tensorboard")
    return best, rows

"""Train YOLOv8n with Ultralytics from a hardware profile, and publish the run as the pipeline's outputs.

Ultralytics works in a scratch run folder (git-ignored; watch it live with `tensorboard --logdir runs/train`).
An interrupted run (Ctrl-C, power cut) leaves its last.pt there, which `resume` continues.
"""
from __future__ import annotations

import time
from pathlib import Path

from hwdetect.cli import UserError, log
from hwdetect.config.checks import auto_batch, gpu_indices
from hwdetect.files.atomic import atomic_dir, remove
from hwdetect.training import runtime
from hwdetect.training.runfiles import canonical_checkpoint, copy_plots, results_rows, write_results, write_tensorboard
from hwdetect.training.weights import ensure_weights

LOW_MEMORY_IMGSZ = 416  # the guide's out-of-memory recipe: batch 1, imgsz 416, accumulate 16, cache false
# Product defaults, overridable in a profile: mirrored handwriting is not handwriting.
DEFAULTS = {"fliplr": 0.0, "deterministic": True, "plots": True, "val": True, "exist_ok": True}


def model_file(profile_name: str, profile: dict, pretrained_dir: str, weights_url: str) -> str:
    """`*.yaml` builds the architecture from scratch; `*.pt` is pretrained weights, fetched once and pinned by hash."""
    if profile["model"].endswith(".yaml"):
        return profile["model"]
    return str(ensure_weights(profile["model"], profile["sha256"], pretrained_dir, weights_url, profile_name))


def check_hardware(profile: dict, name: str) -> None:
    """Refuse, before any output is touched, a device this machine lacks and auto-batch without a GPU."""
    device, batch = profile["device"], profile["batch"]
    runtime.check_device(device, f"params.yaml: profiles.{name}.device", f"use the cpu profile (dvc exp run -S "
                         f"train.profile=cpu) or set profiles.{name}.device: cpu", example="device: 0")
    if auto_batch(batch) and not gpu_indices(device):
        raise UserError(
            f"params.yaml: profiles.{name}.batch is {batch} (Ultralytics auto-batch), which sizes the batch from "
            f"free CUDA memory and needs a GPU; set a number of images such as 16 for device {device!r}")


def inference_settings(profile: dict) -> tuple[str | int, int]:
    """Device and batch for validation and prediction: one GPU of a multi-GPU profile, a fixed batch for auto-batch."""
    gpus, batch = gpu_indices(profile["device"]), profile["batch"]
    return (gpus[0] if gpus else profile["device"]), (16 if auto_batch(batch) else batch)


def interrupted_run(work: Path) -> Path | None:
    """last.pt of an unfinished run (Ultralytics strips the epoch to -1 when a run completes). A last.pt that cannot
    be read (cut short by a crash or a full disk) is no run to continue: it is ignored, and the caller replaces the
    scratch run folder it lies in."""
    import torch

    last = work / "weights" / "last.pt"
    if not last.exists():
        return None
    try:
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        epoch = ckpt.get("epoch", -1)
    except Exception as err:  # noqa: BLE001 (zip, pickle and torch errors all mean a broken file)
        reason = str(err).strip().split("\n")[0][:120] or type(err).__name__
        log.warning(f"train: ignoring {last}, which cannot be read ({reason}); the run starts from scratch")
        return None
    return last if isinstance(epoch, int) and epoch >= 0 else None


def ultralytics_args(profile_name: str, profile: dict, seed: int, dataset: Path, save_dir: Path) -> dict:
    """Ultralytics train arguments for a profile (a dict of params.yaml `profiles`)."""
    prof = {k: v for k, v in profile.items() if k not in ("model", "sha256")}
    check_hardware(prof, profile_name)
    accumulate = prof.pop("accumulate", 1)
    if not auto_batch(prof["batch"]):  # auto-batch keeps Ultralytics' nbs (64)
        prof["nbs"] = prof["batch"] * accumulate
    return {**DEFAULTS, **prof, "data": str(dataset), "seed": seed, "save_dir": str(save_dir)}


def train(model_file: str, args: dict, resume: bool, profile_name: str, profile: dict) -> tuple[float, int]:
    """Train in args["save_dir"], continuing an interrupted run there when `resume`; return the seconds taken and
    the batch size used (Ultralytics may pick it: auto-batch, or halving after running out of memory)."""
    from ultralytics import YOLO

    work = Path(args["save_dir"])
    last = interrupted_run(work)
    start = time.perf_counter()
    try:
        if resume and last:
            log.info(f"train: resuming the interrupted run {last}")
            yolo = YOLO(str(last))
            yolo.train(resume=True)
        else:
            if last:
                log.info(f"train: {last} is an unfinished run; starting over (RESUME=1 continues it instead)")
            remove(work)
            yolo = YOLO(model_file)
            yolo.train(**args)
    except RuntimeError as err:  # torch.OutOfMemoryError is one
        if "out of memory" not in str(err).lower():
            raise
        raise out_of_memory(profile_name, profile) from None
    return time.perf_counter() - start, yolo.trainer.batch_size


def out_of_memory(name: str, profile: dict) -> UserError:
    """One line: the memory that ran out, the profile, and the exact command for the guide's low-memory recipe."""
    import psutil
    import torch

    gpus = gpu_indices(profile["device"])
    if gpus and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(gpus[0])
        where = f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"
    else:
        where = f"{profile['device']} ({psutil.virtual_memory().total / 2**30:.0f} GiB RAM)"
    changes = {}
    if profile["batch"] != 1:
        changes.update(batch=1, accumulate=16)
    if profile["imgsz"] > LOW_MEMORY_IMGSZ:
        changes["imgsz"] = LOW_MEMORY_IMGSZ
    if profile.get("cache") not in (False, None, "false"):
        changes["cache"] = "false"
    if not changes:
        changes["imgsz"] = 320
    command = "dvc exp run " + " ".join(f"-S profiles.{name}.{k}={v}" for k, v in changes.items())
    return UserError(f"out of memory on {where} with profile {name} (batch {profile['batch']}, imgsz "
                     f"{profile['imgsz']}); close other programs using it (nvidia-smi lists them) and use less: "
                     f"{command}")


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

"""GPU figures of a hardware profile: peak memory, seconds per epoch, images per second, val mAP, batch-1 latency.

Trains the profile for a few epochs on data/split with the train stage's own arguments (in runs/bench-gpu/), with
an optional cap on GPU memory (`--memory-gib 6` stands in for a 6 GB card on a larger one), then times batch-1
detection with PyTorch on CUDA. Run after `dvc repro split` on a machine with a CUDA GPU:
`python -m bench.gpu --profile rtx3050 --memory-gib 6` (one JSON line at the end, also in runs/bench-gpu/).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from hwdetect import paths
from hwdetect.cli import UserError, cli
from hwdetect.config import params as P

BENCH_DIR = paths.RUNS / "bench-gpu"


def train_profile(p: dict, name: str, epochs: int, model: str | None) -> tuple[dict, object]:
    """Train the profile in BENCH_DIR/<name>; return per-epoch timings and the trainer."""
    from ultralytics import YOLO

    from hwdetect.training.trainer import model_file, ultralytics_args

    prof = {**p["profiles"][name], **({"model": model} if model else {})}
    args = ultralytics_args(name, prof, p["seed"], paths.DATASET, BENCH_DIR / name)
    yolo = YOLO(model_file(name, prof, p["train"]["pretrained_dir"], p["train"]["weights_url"]))
    marks: dict[str, list[float]] = {"start": [], "train_end": [], "end": []}
    yolo.add_callback("on_train_epoch_start", lambda _: marks["start"].append(time.perf_counter()))
    yolo.add_callback("on_train_epoch_end", lambda _: marks["train_end"].append(time.perf_counter()))
    yolo.add_callback("on_fit_epoch_end", lambda _: marks["end"].append(time.perf_counter()))
    yolo.train(**{**args, "epochs": epochs, "patience": epochs, "plots": False})
    return marks, yolo.trainer


def latency_ms(weights, image, imgsz: int, device, runs: int = 50) -> dict:
    """Median batch-1 detection time with PyTorch on the GPU: whole call, and Ultralytics' inference part."""
    import torch
    from ultralytics import YOLO

    yolo = YOLO(str(weights))
    for _ in range(10):
        yolo.predict(str(image), imgsz=imgsz, device=device, verbose=False)
    total, inference = [], []
    for _ in range(runs):
        torch.cuda.synchronize()
        start = time.perf_counter()
        result = yolo.predict(str(image), imgsz=imgsz, device=device, verbose=False)[0]
        torch.cuda.synchronize()
        total.append((time.perf_counter() - start) * 1000)
        inference.append(result.speed["inference"])
    return {"latency_ms": round(statistics.median(total), 2), "inference_ms": round(statistics.median(inference), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="rtx3050", help="profile from params.yaml (default rtx3050)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs to train (default 3; timed after the first)")
    parser.add_argument("--memory-gib", type=float, help="cap on GPU memory for this process, in GiB")
    parser.add_argument("--model", help="override the profile's model, e.g. yolov8n.yaml where no weights exist")
    args = parser.parse_args()
    p = P.load()
    from hwdetect.training import runtime

    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    import torch

    if not torch.cuda.is_available():
        raise UserError("bench.gpu needs a CUDA GPU; torch sees none on this machine (python -m hwdetect.doctor)")
    device = p["profiles"][args.profile]["device"]
    index = int(str(device).split(",")[0])
    card = torch.cuda.get_device_properties(index)
    if args.memory_gib:
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_gib * 2**30 / card.total_memory), index)
    torch.cuda.reset_peak_memory_stats(index)
    marks, trainer = train_profile(p, args.profile, args.epochs, args.model)
    epochs = [end - start for start, end in zip(marks["start"], marks["end"])]
    train_only = [end - start for start, end in zip(marks["start"], marks["train_end"])]
    images = len(trainer.train_loader.dataset)
    test_image = next(iter(sorted(paths.TEST_IMAGES.iterdir())))
    figures = {
        "profile": args.profile, "gpu": card.name, "memory_cap_gib": args.memory_gib, "epochs": len(epochs),
        "batch": trainer.batch_size, "imgsz": trainer.args.imgsz, "train_images": images,
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated(index) / 2**30, 2),
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved(index) / 2**30, 2),
        "seconds_per_epoch": round(statistics.median(epochs[1:] or epochs), 2),  # after the first, which warms up
        "images_per_second": round(images / statistics.median(train_only[1:] or train_only), 1),
        "val_mAP50": round(float(trainer.metrics["metrics/mAP50(B)"]), 4),
        "val_mAP50-95": round(float(trainer.metrics["metrics/mAP50-95(B)"]), 4),
        **latency_ms(trainer.best, test_image, trainer.args.imgsz, device),
    }
    print(json.dumps(figures))
    (BENCH_DIR / f"{args.profile}.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    cli(main)

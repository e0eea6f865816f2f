"""Turn an Ultralytics run into outputs whose bytes depend only on the training itself.

Ultralytics checkpoints hold the date, wall-clock times and absolute paths; results.csv has a `time` column and
TensorBoard event files carry wall times and the host name in their name. DVC hashes every output, so these are
rewritten without the changing parts; wall-clock figures go to the stage's timing file instead.
"""
from __future__ import annotations

import csv
import io
import shutil
import threading
from pathlib import Path

from hwdetect.files.atomic import write_atomic

KEEP_ARGS = ("task", "imgsz", "batch", "epochs", "seed", "nbs", "single_cls", "rect")


def canonical_checkpoint(src: Path, dst: Path, extra: dict) -> None:
    """Save the EMA model of an Ultralytics checkpoint with fixed metadata only."""
    import torch
    from ultralytics import __version__

    ckpt = torch.load(src, map_location="cpu", weights_only=False)
    model = ckpt.get("ema") or ckpt["model"]
    model.args = {k: v for k, v in dict(getattr(model, "args", {})).items() if k in KEEP_ARGS}
    model.yaml_file = Path(getattr(model, "yaml_file", "") or "").name
    model.half()
    for p in model.parameters():
        p.requires_grad = False
    train_args = {k: ckpt.get("train_args", {}).get(k) for k in KEEP_ARGS}
    buffer = io.BytesIO()
    torch.save({"model": model, "train_args": train_args, "epoch": -1, "version": __version__,
                "pipeline": extra}, buffer)
    write_atomic(dst, buffer.getvalue())


def rounded(metrics: dict[str, float], digits: int = 5) -> dict[str, float]:
    """Figures rounded for the metrics files, so float noise in the last digits does not change their bytes."""
    return {k: round(float(v), digits) for k, v in metrics.items()}


def results_rows(results_csv: Path) -> list[dict[str, float]]:
    """One row per epoch of Ultralytics' results.csv. A run killed after writing an epoch's row but before saving
    its checkpoint trains that epoch again when resumed and writes a second row for it: the later one is kept."""
    with results_csv.open(newline="") as f:
        rows = [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    by_epoch = {row["epoch"]: row for row in rows}
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def write_results(rows: list[dict[str, float]], dst: Path) -> None:
    """results.csv without the wall-clock `time` column."""
    keys = [k for k in rows[0] if k != "time"]
    lines = [",".join(keys)] + [",".join(f"{r[k]:.6g}" for k in keys) for r in rows]
    dst.write_text("\n".join(lines) + "\n")


def write_tensorboard(rows: list[dict[str, float]], log_dir: Path) -> None:
    """One TensorBoard event file of the per-epoch scalars, with the epoch as its wall time."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.record_writer import RecordWriter

    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "events.out.tfevents.0.detector").open("wb") as f:
        writer = RecordWriter(f)
        writer.write(Event(wall_time=0.0, file_version="brain.Event:2").SerializeToString())
        for row in rows:
            step = int(row["epoch"])
            values = [Summary.Value(tag=k, simple_value=v) for k, v in row.items() if k not in ("epoch", "time")]
            writer.write(Event(wall_time=float(step), step=step, summary=Summary(value=values)).SerializeToString())


def copy_plots(run_dir: Path, dst: Path) -> None:
    """Copy the run's plots once Ultralytics' plotting threads are done.

    val_batch* images are left out: every validation rewrites them from a background thread, so which epoch's
    version survives is a race. The evaluate stage draws its own predictions.
    """
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    for f in sorted(run_dir.iterdir()):
        if f.suffix in (".png", ".jpg") and not f.name.startswith("val_batch"):
            shutil.copyfile(f, dst / f.name)

"""Stage `export`: models/detector/best.onnx, checked against the PyTorch model on the test split.

Parity: mAP of both models on the test split (drop at most `export.max_map_drop`) and the largest difference of
their raw outputs on the test images (at most `export.max_output_diff`). If either check fails the stage exits
non-zero and leaves no ONNX file. Writes metrics/export.json and metrics/timing/export.json (batch-1 CPU latency).
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import UserError, cli, log
from hwdetect.config import params
from hwdetect.evaluation.export import export_checked
from hwdetect.training.runfiles import rounded
from hwdetect.files.atomic import write_json
from hwdetect.paths import shown
from hwdetect.training import runtime
from hwdetect.training.trainer import inference_settings


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: export, evaluate, train.profile, train.threads, train.cpu_isa, "
                                   "profiles.<train.profile>.").parse_args()
    p = params.load()
    for path in (paths.MODEL, paths.DATASET):
        if not path.exists():
            raise UserError(f"{shown(path)}: missing; run the pipeline first (dvc repro)")
    prof, x, e = params.profile(p), p["export"], p["evaluate"]
    threads = runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    settings = {"imgsz": prof["imgsz"], "batch": inference_settings(prof)[1], "conf": e["conf"], "iou": e["iou"], "opset": x["opset"]}
    r = export_checked(paths.MODEL, paths.ONNX, paths.DATASET, paths.TEST_IMAGES, paths.EVAL_RUN, settings, x)
    size = paths.ONNX.stat().st_size
    write_json(paths.metrics_file("export"), {
        **rounded({"mAP50-95_torch": r["map_torch"], "mAP50-95_onnx": r["map_onnx"], "mAP50-95_drop": r["drop"]}),
        "max_output_diff": float(f"{r['max_output_diff']:.2e}"), "opset": x["opset"], "imgsz": prof["imgsz"],
        "onnx_bytes": size})
    write_json(paths.timing_file("export"), {
        "batch1_ms_torch": round(r["torch_ms"], 2), "batch1_ms_onnx": round(r["onnx_ms"], 2),
        "speedup_onnx": round(r["torch_ms"] / r["onnx_ms"], 2), "threads": threads})
    log.info(f"export: {shown(paths.ONNX)} ({size / 1e6:.1f} MB), mAP50-95 drop {r['drop']:+.4f}, "
             f"max output diff {r['max_output_diff']:.1e}, CPU batch-1 {r['torch_ms']:.1f} ms (PyTorch) vs "
             f"{r['onnx_ms']:.1f} ms (ONNX)")


if __name__ == "__main__":
    cli(main)

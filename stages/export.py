"""Stage `export`: models/detector/best.onnx, checked against the PyTorch model on the test split.

Parity: mAP of both models on the test split (drop at most `export.max_map_drop`) and the largest difference of
their raw outputs on the test images (at most `export.max_output_diff`). If either check fails the stage exits
non-zero and leaves no ONNX file. Writes metrics/export.json and metrics/timing/export.json (batch-1 CPU latency).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from stages import params as P
from stages import runtime
from stages.common import ROOT, UserError, cli, log, rounded, write_json, shown
from stages.evaluate import DATASET, MODEL, TEST_IMAGES, validate

ONNX = MODEL.with_suffix(".onnx")
METRICS = ROOT / "metrics" / "export.json"
TIMING = ROOT / "metrics" / "timing" / "export.json"


def export_onnx(model_path: Path, out: Path, imgsz: int, opset: int) -> None:
    """Ultralytics export, then drop the export date from the metadata so the bytes depend only on the model."""
    import onnx
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        pt = Path(tmp) / model_path.name
        shutil.copyfile(model_path, pt)
        exported = Path(YOLO(str(pt), task="detect").export(format="onnx", imgsz=imgsz, opset=opset, simplify=True,
                                                             dynamic=False, device="cpu"))
        model = onnx.load(exported)
        kept = [(p.key, p.value) for p in model.metadata_props if p.key != "date"]
        del model.metadata_props[:]
        for key, value in kept:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, out)


def letterboxed(images: list[Path], imgsz: int) -> list[np.ndarray]:
    """Test images as the model sees them: letterboxed to imgsz, RGB, NCHW float in [0, 1]."""
    import cv2
    from ultralytics.data.augment import LetterBox

    box = LetterBox((imgsz, imgsz), auto=False)
    out = []
    for image in images:
        img = box(image=cv2.imread(str(image)))[:, :, ::-1]
        out.append(np.ascontiguousarray(img.transpose(2, 0, 1))[None].astype(np.float32) / 255)
    return out


def compare_outputs(pt: Path, onnx_path: Path, inputs: list[np.ndarray], repeats: int = 20) -> dict:
    """Largest raw-output difference of the two models, and their median batch-1 latency in ms."""
    import onnxruntime as ort
    import torch
    from ultralytics import YOLO

    net = YOLO(str(pt), task="detect").model.float().fuse().eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    diff = 0.0
    with torch.inference_mode():
        for x in inputs:
            a = net(torch.from_numpy(x))
            a = (a[0] if isinstance(a, (list, tuple)) else a).numpy()
            b = session.run(None, {name: x})[0]
            diff = max(diff, float(np.abs(a - b).max()))

        def median_ms(fn) -> float:
            fn()
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1000)
            return statistics.median(times)

        x = inputs[0]
        torch_ms = median_ms(lambda: net(torch.from_numpy(x)))
    onnx_ms = median_ms(lambda: session.run(None, {name: x}))
    return {"max_output_diff": diff, "torch_ms": torch_ms, "onnx_ms": onnx_ms}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: export, evaluate, train.profile, train.threads, "
                                   "profiles.<train.profile>.").parse_args()
    p = P.load()
    for path in (MODEL, DATASET):
        if not path.exists():
            raise UserError(f"{shown(path)}: missing; run the pipeline first (dvc repro)")
    prof, x, e = P.profile(p), p["export"], p["evaluate"]
    threads = runtime.setup(p["train"]["threads"])
    tmp = ONNX.with_name(f".partial.{ONNX.name}")  # keeps the .onnx suffix Ultralytics reads the format from
    try:
        export_onnx(MODEL, tmp, prof["imgsz"], x["opset"])
        args = dict(imgsz=prof["imgsz"], batch=prof["batch"], device="cpu", conf=e["conf"], iou=e["iou"],
                    save_dir=None, rect=False)  # the same square input for both
        map_pt, map_onnx = validate(MODEL, **args).box.map, validate(tmp, **args).box.map
        inputs = letterboxed(sorted(TEST_IMAGES.iterdir())[:8], prof["imgsz"])
        cmp = compare_outputs(MODEL, tmp, inputs)
        drop = float(map_pt - map_onnx)
        if drop > x["max_map_drop"] or cmp["max_output_diff"] > x["max_output_diff"]:
            raise UserError(
                f"ONNX parity check failed: mAP50-95 {map_pt:.4f} (PyTorch) vs {map_onnx:.4f} (ONNX), largest output "
                f"difference {cmp['max_output_diff']:.2e}; limits in params.yaml export.max_map_drop="
                f"{x['max_map_drop']} and export.max_output_diff={x['max_output_diff']}")
        tmp.replace(ONNX)
    finally:
        tmp.unlink(missing_ok=True)
    write_json(METRICS, {**rounded({"mAP50-95_torch": map_pt, "mAP50-95_onnx": map_onnx, "mAP50-95_drop": drop}),
                         "max_output_diff": float(f"{cmp['max_output_diff']:.2e}"), "opset": x["opset"],
                         "imgsz": prof["imgsz"], "onnx_bytes": ONNX.stat().st_size})
    write_json(TIMING, {"batch1_ms_torch": round(cmp["torch_ms"], 2), "batch1_ms_onnx": round(cmp["onnx_ms"], 2),
                        "speedup_onnx": round(cmp["torch_ms"] / cmp["onnx_ms"], 2), "threads": threads})
    log.info(f"export: {shown(ONNX)} ({ONNX.stat().st_size / 1e6:.1f} MB), mAP50-95 drop {drop:+.4f}, "
             f"max output diff {cmp['max_output_diff']:.1e}, CPU batch-1 {cmp['torch_ms']:.1f} ms (PyTorch) vs "
             f"{cmp['onnx_ms']:.1f} ms (ONNX)")


if __name__ == "__main__":
    cli(main)

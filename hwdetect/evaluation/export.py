"""ONNX export of a detector, and the check that the ONNX model gives what the PyTorch one gives.

Parity: mAP of both models on the same square input (Ultralytics' rect=False, as a fixed-size ONNX model needs) and
the largest difference of their raw outputs on letterboxed images.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from hwdetect.cli import UserError
from hwdetect.evaluation.dataset import read_dataset
from hwdetect.evaluation.evaluate import handwriting_detector, validate


def export_onnx(model_path: Path, out: Path, imgsz: int, opset: int, dynamic: bool = True) -> None:
    """Ultralytics export, with a dynamic input unless asked (the verifier's close look shows the page larger), then
    drop the export date from the metadata so the bytes depend only on the model. A dynamic graph is not simplified:
    onnxslim gives it different bytes from run to run."""
    import onnx
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        pt = Path(tmp) / model_path.name
        shutil.copyfile(model_path, pt)
        exported = Path(YOLO(str(pt), task="detect").export(format="onnx", imgsz=imgsz, opset=opset,
                                                             simplify=not dynamic, dynamic=dynamic, device="cpu"))
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
        img = box(image=cv2.imdecode(np.fromfile(image, np.uint8), cv2.IMREAD_COLOR))[:, :, ::-1]
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


def export_checked(model: Path, onnx_out: Path, data: Path, test_images: Path, work: Path, settings: dict,
                   limits: dict) -> dict:
    """Export `model` to onnx_out only if it passes the parity check on the test split; return the figures.

    settings: imgsz, batch, conf, iou, opset. limits: max_map_drop, max_output_diff. On failure nothing is written
    and UserError says by how much the check failed.
    """
    read_dataset(data, "test")
    handwriting_detector(model)  # its class 0 handwriting; the set may label more classes (print)
    s = settings
    tmp = onnx_out.with_name(f".partial.{onnx_out.name}")  # keeps the .onnx suffix Ultralytics reads the format from
    try:
        export_onnx(model, tmp, s["imgsz"], s["opset"])
        args = dict(imgsz=s["imgsz"], batch=s["batch"], device="cpu", conf=s["conf"], iou=s["iou"], save_dir=work,
                    plots=False, rect=False)  # the same square input for both
        map_pt, map_onnx = validate(model, data, "test", **args).box.map, validate(tmp, data, "test", **args).box.map
        inputs = letterboxed(sorted(test_images.iterdir())[:8], s["imgsz"])
        cmp = compare_outputs(model, tmp, inputs)
        drop = float(map_pt - map_onnx)
        if drop > limits["max_map_drop"] or cmp["max_output_diff"] > limits["max_output_diff"]:
            raise UserError(
                f"ONNX parity check failed: mAP50-95 {map_pt:.4f} (PyTorch) vs {map_onnx:.4f} (ONNX), largest output "
                f"difference {cmp['max_output_diff']:.2e}; limits in params.yaml export.max_map_drop="
                f"{limits['max_map_drop']} and export.max_output_diff={limits['max_output_diff']}")
        tmp.replace(onnx_out)
    finally:
        tmp.unlink(missing_ok=True)
    return {"map_torch": map_pt, "map_onnx": map_onnx, "drop": drop, **cmp}

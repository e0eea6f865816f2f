"""The verifier as ONNX, for deployments without torch: input `crops` (N x 1 x H x W, crops.normalise), output
`logits` (N); a box holds handwriting when sigmoid(logit) >= the threshold in the file's metadata."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from hwdetect.cli import UserError
from hwdetect.files.atomic import write_atomic
from hwdetect.paths import shown
from hwdetect.verify.close import HELD
from hwdetect.verify.crops import CROP_HEIGHT, CROP_WIDTH
from hwdetect.verify.net import ALONE, FORMAT, LINE_SCORE, RAISE, SURE, VerifierNet
from hwdetect.verify.pieces import GAP, PRINT

MAX_LOGIT_DIFF = 1e-3  # largest |ONNX - PyTorch| logit difference allowed on the check crops


def export_onnx(net: VerifierNet, out: Path, threshold: float, snap: bool, split: bool, close: dict, opset: int,
                check: torch.Tensor) -> float:
    """Write `net` to `out` as ONNX once its logits on the `check` crops match PyTorch's; the largest difference."""
    import onnx
    import onnxruntime as ort

    net = net.eval().to(memory_format=torch.contiguous_format)
    buffer = io.BytesIO()
    torch.onnx.export(net, torch.zeros(1, 1, CROP_HEIGHT, CROP_WIDTH), buffer, input_names=["crops"],
                      output_names=["logits"], dynamic_axes={"crops": {0: "n"}, "logits": {0: "n"}},
                      opset_version=opset, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    for key, value in {"format": FORMAT, "crop": f"{CROP_HEIGHT}x{CROP_WIDTH}", "threshold": str(threshold),
                       "keep": "sigmoid(logits) >= threshold",
                       "raise": f"sigmoid(logits) >= {SURE} and less than {ALONE} of the box under a box scored "
                                f"higher and >= {LINE_SCORE}: score ** {RAISE} (hwdetect.verify.net.Verifier.rescore)",
                       "snap": "hwdetect.verify.edges.snap_to_ink" if snap else "none",
                       "split": f"hwdetect.verify.pieces.drop_print (gaps of {GAP} line heights, print below "
                                f"{PRINT})" if split else "none",
                       "crops_of": "the snapped boxes" if snap else "the detected boxes",
                       "close_look": f"hwdetect.verify.close.close_boxes (the page at {close['zoom']}x the "
                                     f"detector's size, boxes up to {close['max_height']} px tall at its size, "
                                     f"kept at the threshold + {close['margin']} unless {HELD} inside a whole-page "
                                     f"box, score - {close['margin']})"
                       if close["zoom"] > 1 else "none"}.items():
        model.metadata_props.add(key=key, value=value)
    data = model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = check.contiguous()
    got = session.run(None, {"crops": x.numpy()})[0]
    with torch.no_grad():
        want = net(x).numpy()
    diff = float(np.abs(got - want).max()) if len(want) else 0.0
    if diff > MAX_LOGIT_DIFF:
        raise UserError(f"{shown(out)}: ONNX export of the verifier differs from PyTorch by {diff:.2e} (limit "
                        f"{MAX_LOGIT_DIFF:.0e}); try another export.opset in params.yaml")
    write_atomic(out, data)
    return diff

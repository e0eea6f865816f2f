"""The close look (hwdetect/verify/close.py): the page shown larger adds the small entries the whole-page look
missed (ranked lower), and nothing it found, nothing tall, nothing over print and nothing scored under its bar;
Ultralytics validation gets the added boxes in its letterboxed frame; the verifier file carries the settings (older
files: off); predict runs it on .pt and on a dynamic .onnx alike, and refuses a fixed-size .onnx in one line."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run
from test_edges import PAPER, write
from test_pieces import knowing, label
from test_predict import models  # noqa: F401 (the fixture)
from test_verifier import fixed_net

CLOSE = {"zoom": 2, "max_height": 8.0, "margin": 0.2}
IMGSZ = 288  # the whole 1400 px wide page at 288: 1 px there is ~4.9 px here


@pytest.fixture
def form():
    """A 1400 x 600 form: a handwritten line, a small entry after a printed label, a printed code, a big heading."""
    page = np.full((600, 1400), PAPER, np.uint8)
    boxes = {"line": write(page, "Dear Sally, the garden was lovely", 40, 120),
             "label": label(page, "Initials:", 40, 400)}
    boxes["entry"] = write(page, "SW", int(boxes["label"][2]) + 30, 400, scale=0.8)
    boxes["code"] = label(page, "AB-1234", 700, 400)
    boxes["heading"] = write(page, "MINUTES", 700, 540, scale=2.5)
    return page, boxes


def looks(found: dict[int, tuple[list, list]]):
    """A detector that, shown the page at each size, finds the boxes given for it; the calls it got."""
    calls = []

    def detect_at(size: int, conf: float):
        calls.append((size, conf))
        boxes, scores = found.get(size, ([], []))
        return np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)
    return detect_at, calls


def test_the_close_look_adds_a_small_entry_and_nothing_found_tall_printed_or_doubtful(form):
    from hwdetect.verify.close import page_boxes

    page, b = form
    verifier = knowing([b["label"], b["code"]], split=False)
    verifier.close = CLOSE
    part = [b["line"][0], b["line"][1], b["line"][0] + 150, b["line"][3]]  # a word of the line found already
    detect_at, calls = looks({IMGSZ: ([b["line"]], [0.8]),
                              2 * IMGSZ: ([part, b["entry"], b["heading"], b["code"], b["entry"] + [0, 0, 0, 0]],
                                          [0.7, 0.6, 0.9, 0.6, 0.4])})
    boxes, scores = page_boxes(detect_at, page, IMGSZ, 0.25, verifier)
    assert [size for size, _ in calls] == [IMGSZ, 2 * IMGSZ]
    assert calls[1][1] == pytest.approx(verifier.detector_conf(0.45)), "all the close look could raise to its bar"
    assert len(boxes) == 2 and np.allclose(boxes[0], b["line"]) and np.allclose(boxes[1], b["entry"])
    assert scores.tolist() == pytest.approx([0.8, 0.4]), "ranked the margin lower"
    assert (b["heading"][3] - b["heading"][1]) * IMGSZ / 1400 > CLOSE["max_height"] >= \
        (b["entry"][3] - b["entry"][1]) * IMGSZ / 1400, "the heading is left to the whole-page look"

    detect_at, calls = looks({IMGSZ: ([b["line"]], [0.8]), 2 * IMGSZ: ([b["entry"]], [0.6])})
    boxes, _ = page_boxes(detect_at, page, IMGSZ, 0.7, verifier)
    assert len(boxes) == 1, "a higher --conf raises the close look's bar too"
    verifier.close = {**CLOSE, "zoom": 1}
    detect_at, calls = looks({IMGSZ: ([b["line"]], [0.8]), 2 * IMGSZ: ([b["entry"]], [0.6])})
    assert len(page_boxes(detect_at, page, IMGSZ, 0.25, verifier)[0]) == 1 and len(calls) == 1, "zoom 1: off"


def test_the_validator_scores_the_boxes_the_close_look_adds(form, tmp_path, monkeypatch):
    from hwdetect.training import runtime

    runtime.setup(2)
    import cv2
    import torch
    from ultralytics.models.yolo.detect import DetectionValidator

    from hwdetect.verify.validator import verified_validator

    page, b = form
    cv2.imwrite(str(tmp_path / "page.png"), page)
    verifier = knowing([b["label"], b["code"]], split=False)
    verifier.close = CLOSE
    gain, pad = IMGSZ / 1400, (0.0, (IMGSZ - 600 * IMGSZ / 1400) / 2)
    pred = {"bboxes": torch.tensor(np.array([b["line"]]) * gain + [pad[0], pad[1]] * 2, dtype=torch.float32),
            "conf": torch.tensor([0.8]), "cls": torch.tensor([0.0]), "extra": torch.zeros(1, 0)}
    batch = {"im_file": [str(tmp_path / "page.png")], "img": torch.zeros(1, 3, IMGSZ, IMGSZ),
             "ori_shape": [(600, 1400)], "ratio_pad": [((gain, gain), pad)]}
    seen = {}
    monkeypatch.setattr(DetectionValidator, "update_metrics", lambda self, p, b: seen.update(preds=p))

    class Validator(verified_validator(verifier, tmp_path / "unused.pt")):
        def _detect_at(self, image):  # noqa: ANN001 (the parent's signature)
            assert image.shape == (600, 1400, 3)
            return looks({2 * IMGSZ: ([b["entry"], b["code"]], [0.6, 0.6])})[0]

    validator = Validator()
    validator.args.conf, validator.args.imgsz = 0.001, IMGSZ
    validator.update_metrics([pred], batch)
    got = seen["preds"][0]
    assert len(got["bboxes"]) == len(got["conf"]) == len(got["cls"]) == len(got["extra"]) == 2
    entry = (got["bboxes"][1].numpy() - [pad[0], pad[1]] * 2) / gain
    assert np.abs(entry - b["entry"]).max() <= 1.0, "the entry, in the validator's letterboxed frame"
    assert got["conf"].tolist() == pytest.approx([0.8, 0.4]) and got["cls"].tolist() == [0.0, 0.0]
    empty = {k: v[:0] for k, v in pred.items()}  # the whole-page look found nothing: the close look's box alone
    validator.update_metrics([empty], batch)
    got = seen["preds"][0]
    assert len(got["bboxes"]) == len(got["extra"]) == 1 and got["conf"].tolist() == pytest.approx([0.4])


def test_the_verifier_file_carries_the_close_look_and_older_files_have_it_off(tmp_path):
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch

    from hwdetect.cli import UserError
    from hwdetect.verify.net import load, save

    save(tmp_path / "close.pt", fixed_net(0.0), 0.3, snap=True, split=True, close=CLOSE)
    assert load(tmp_path / "close.pt").close == CLOSE
    older = torch.load(tmp_path / "close.pt", weights_only=True)
    del older["close"]
    torch.save(older, tmp_path / "older.pt")
    assert load(tmp_path / "older.pt").close["zoom"] == 1, "files from before: no close look"
    older["close"] = {"zoom": 2}
    torch.save(older, tmp_path / "bad.pt")
    with pytest.raises(UserError, match=r"bad\.pt: its close-look settings are not"):
        load(tmp_path / "bad.pt")


@pytest.mark.slow
def test_predict_takes_the_close_look_on_pt_and_dynamic_onnx_alike(trained_project, models, tmp_path):
    from hwdetect.detection import load_model
    from hwdetect.evaluation.export import export_onnx
    from hwdetect.predict import predict
    from hwdetect.verify.net import save

    src = tmp_path / "pages"
    src.mkdir()
    for page in sorted((trained_project / "data" / "split" / "images").rglob("*.jpg"))[:4]:
        shutil.copyfile(page, src / page.name)
    image = np.asarray(Image.open(next(src.iterdir())).convert("RGB"))[:, :, ::-1].copy()
    seen = {}
    for fmt in ("pt", "onnx"):  # the close look's input: the page at twice the size the ONNX model was exported at
        result = load_model(models / f"best.{fmt}").predict(image, imgsz=128, conf=0.001, rect=False, verbose=False)[0]
        seen[fmt] = result.boxes.xyxy.numpy(), result.boxes.conf.numpy()
    for fmt, other in (("pt", "onnx"), ("onnx", "pt")):  # boxes scored near `conf` may fall either side of it
        boxes, conf = seen[fmt]
        sure = boxes[conf >= conf.max() / 2] if len(conf) else boxes
        assert len(sure) and len(seen[other][0]), f"{fmt}: no box, or none from {other}"
        gap = np.abs(sure[:, None] - seen[other][0][None]).max(2).min(1)
        assert gap.max() <= 0.5, f"the dynamic ONNX model at 128 gives the .pt's boxes ({fmt} box {gap.argmax()} off)"

    save(tmp_path / "close.pt", fixed_net(np.log(0.9 / 0.1)), 0.5, snap=False, split=False,
         close={**CLOSE, "max_height": 64.0, "margin": 0.0})  # p 0.9: every box kept with its score
    boxes = {}
    for fmt in ("pt", "onnx"):
        predict(models / f"best.{fmt}", src, tmp_path / fmt, conf=0.001, verifier=tmp_path / "close.pt")
        boxes[fmt] = {r.name: json.loads(r.read_text())["boxes"] for r in (tmp_path / fmt / "json").glob("*.json")}
    assert boxes["pt"].keys() == boxes["onnx"].keys() and len(boxes["pt"]) == 4
    for name, found in boxes["pt"].items():
        assert len(found) == len(boxes["onnx"][name]), name
        for a, b in zip(found, boxes["onnx"][name]):
            assert np.abs(np.subtract(a["xyxy"], b["xyxy"])).max() <= 0.5 and abs(a["score"] - b["score"]) <= 1e-3

    export_onnx(models / "best.pt", tmp_path / "fixed.onnx", imgsz=64, opset=17, dynamic=False)
    bad = run([sys.executable, "-m", "hwdetect.predict", "--model", str(tmp_path / "fixed.onnx"), "--source",
               str(src), "--out", str(tmp_path / "bad"), "--verifier", str(tmp_path / "close.pt")], trained_project,
              check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "fixed.onnx: exported with a fixed 64x64 input, so the verifier's close look" in bad.stderr
    assert not (tmp_path / "bad").exists(), "nothing written"

"""A detector trained on the generator's pages finds handwriting and leaves print alone: `predict` on generated
print-only pages returns no boxes, while on handwritten pages it finds the lines. Also the print kinds themselves:
typewritten and dot-matrix print is drawn and never labelled, and a signature is one box with its flourish."""
from __future__ import annotations

import csv
import dataclasses
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, run
from hwdetect.config import params as P
from hwdetect.synth.generate import generate, page_spec
from hwdetect.synth.pages import render_page
from hwdetect.synth.printer import Printer

SPEC = dataclasses.replace(page_spec(P.load()["synthetic"]), width=320, height=360, lines=(3, 6))
CONF = 0.25  # predict's default


def test_each_print_style_puts_ink_on_the_page_and_no_label():
    for style in ("plain", "typewriter", "dotmatrix"):
        page = Image.new("L", (400, 120), 240)
        p = Printer(page, np.random.default_rng(0), ["ibm-plex-mono"])
        p.text((10, 10), "Invoice 2041 paid in full", 24, "ibm-plex-mono", style=style)
        ink = np.asarray(page) < 140
        assert ink.sum() > 300, style
        rows = np.flatnonzero(ink.any(1))
        assert rows.min() >= 8 and rows.max() <= 50, f"{style} print stays on its line"


def test_a_signature_is_one_box_holding_its_flourish():
    spec = dataclasses.replace(SPEC, layouts={"typed_letter": 1.0}, signatures=("great-vibes", "scribble"))
    signatures = 0
    for index in range(6):
        _, boxes, _ = render_page(3, index, spec)
        heights = sorted(y1 - y0 for _, y0, _, y1 in boxes)
        assert boxes and heights[-1] < 0.2 * SPEC.width * 1.42, "no box spans several lines"
        signatures += len(boxes)
    assert signatures >= 6


@pytest.mark.slow
def test_predict_boxes_handwriting_and_not_a_print_only_page(tmp_path, monkeypatch):
    from ultralytics import YOLO

    from hwdetect.training import runtime
    from hwdetect.training.trainer import DEFAULTS

    runtime.setup(2)
    for share in ("CLOSE_UP", "PHOTO"):  # flatbed scans only: a small model learns them in a minute or two
        monkeypatch.setattr(f"hwdetect.synth.scan.{share}", 0.0)
    # a dozen print faces: what a tiny model learns apart from handwriting in a minute or two
    train = dataclasses.replace(SPEC, layouts={"iam_form": 0.5, "print_only": 0.5}, print_fonts=SPEC.print_fonts[:12])
    generate(tmp_path / "train", 0, 96, train, workers=2)
    generate(tmp_path / "val", 1, 8, train, workers=2)
    (tmp_path / "data.yaml").write_text(f"path: {tmp_path}\ntrain: train/images\nval: val/images\n"
                                        "names:\n  0: handwriting\n")
    YOLO("yolov8n.yaml").train(**{**DEFAULTS, "plots": False}, data=str(tmp_path / "data.yaml"), imgsz=160,
                               epochs=40, batch=8, nbs=8, seed=0, device="cpu", workers=0, cache="ram",
                               save_dir=str(tmp_path / "run"), verbose=False)
    pages = tmp_path / "pages"
    pages.mkdir()
    for name, layout, seed in (("print", "print_only", 5), ("hand", "iam_form", 6)):
        for i in range(3):
            img, _, _ = render_page(seed, i, dataclasses.replace(train, layouts={layout: 1.0}))
            Image.fromarray(img).save(pages / f"{name}{i}.png")
    run([sys.executable, "-m", "hwdetect.predict", "--model", str(tmp_path / "run" / "weights" / "best.pt"),
         "--source", str(pages), "--out", str(tmp_path / "out"), "--imgsz", "160", "--conf", str(CONF)], ROOT)
    with open(tmp_path / "out" / "predictions.csv", newline="") as f:
        boxes = {r["file"]: int(r["boxes"]) for r in csv.DictReader(f)}
    assert len(boxes) == 6 and all(boxes[f"print{i}.png"] == 0 for i in range(3)), boxes
    assert all(boxes[f"hand{i}.png"] >= 2 for i in range(3)), boxes

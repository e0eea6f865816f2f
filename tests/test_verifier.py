"""The verifier: crops as it sees them, its training on the generator's handwriting and print boxes, its file, and
the second look it gives evaluate and predict (a box it rejects is gone from both)."""
from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import run, stage, write_params
from hwdetect.config import params as P
from hwdetect.synth.generate import page_spec
from hwdetect.synth.pages import render_page
from hwdetect.verify.crops import CROP_HEIGHT, CROP_WIDTH, normalise
from hwdetect.verify.fit import page_crops
from hwdetect.verify.printed import item, printed_crops

SPEC = dataclasses.replace(page_spec(P.load()["synthetic"]), width=320, height=360, lines=(3, 6))


def test_a_crop_has_the_fixed_height_paper_at_zero_and_ink_below():
    gray = np.full((100, 400), 230, np.uint8)
    gray[40:60, 50:150] = 30
    crop = normalise(gray, (50, 40, 150, 60))
    assert crop.shape == (CROP_HEIGHT, CROP_WIDTH) and crop.dtype == np.float32
    width = round(104 * CROP_HEIGHT / 24)  # the box and a margin of 0.1 of its height on each side, scaled
    assert crop[:, :width].min() == pytest.approx(-1, abs=0.05) and crop[:, :width].max() == pytest.approx(0, abs=0.05)
    assert not crop[:, width + 1:].any(), "padded with paper"
    gray[70:90, 20:380] = 30
    long = normalise(gray, (20, 70, 380, 90))
    assert long.shape == (CROP_HEIGHT, CROP_WIDTH) and (long < -0.5).any(0).mean() > 0.95, "a long line is squeezed"
    assert normalise(gray, (500, 10, 600, 20)) is None and normalise(gray, (10, 10, 11, 11)) is None


def test_training_crops_are_the_pages_handwriting_and_print_and_repeat_exactly():
    spec = dataclasses.replace(SPEC, layouts={"typed_letter": 0.5, "form_fill": 0.5})
    labels = []
    for index in range(4):
        crops, page_labels = page_crops(5, index, spec, 480)
        again, _ = page_crops(5, index, spec, 480)
        assert len(crops) == len(page_labels) and all(np.array_equal(a, b) for a, b in zip(crops, again))
        labels += page_labels
    assert labels.count(1) >= 4 and labels.count(0) >= 4 * labels.count(1) / 4, "print outnumbers handwriting"


def test_short_printed_items_are_extra_print_crops_that_repeat_exactly():
    rng = np.random.default_rng(0)
    items = [item(rng) for _ in range(200)]
    assert any(i.isupper() and any(c.isdigit() for c in i) for i in items), "addresses in capitals"
    assert any(i.startswith("$") for i in items) and any(i.count("/") == 2 for i in items), "amounts and dates"
    fonts = list(SPEC.print_fonts)
    crops = printed_crops(3, 1, fonts, 640, 12)
    assert len(crops) >= 10 and all(c.shape == (CROP_HEIGHT, CROP_WIDTH) for c in crops)
    assert all(c.min() < -0.5 for c in crops), "each crop holds ink"
    again, other = printed_crops(3, 1, fonts, 640, 12), printed_crops(3, 2, fonts, 640, 12)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again)) and len(again) == len(crops)
    assert not all(np.array_equal(a, b) for a, b in zip(crops, other)), "another page, other items"
    plain, plain_labels = page_crops(5, 0, SPEC, 480)
    more, more_labels = page_crops(5, 0, SPEC, 480, items=6)
    assert more_labels[:len(plain_labels)] == plain_labels and all(np.array_equal(a, b) for a, b in zip(plain, more))
    assert 4 <= len(more_labels) - len(plain_labels) <= 6 and set(more_labels[len(plain_labels):]) == {0}


def test_a_broken_verifier_file_is_a_one_line_error_naming_it(tmp_path):
    from hwdetect.cli import UserError
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch

    from hwdetect.verify.net import load

    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    torch.save({"format": "hwdetect-verifier/1", "crop": [CROP_HEIGHT, CROP_WIDTH], "threshold": 0.5,
                "state_dict": {"head.weight": torch.zeros(2)}}, tmp_path / "wrong.pt")
    for name, problem in (("missing.pt", "not found"), ("garbage.pt", "cannot be read as a verifier"),
                          ("other.pt", "not a verifier file of this project"),
                          ("wrong.pt", "its weights do not fit the network")):
        with pytest.raises(UserError) as err:
            load(tmp_path / name)
        message = str(err.value)
        assert name in message and problem in message and "\n" not in message and "--no-verifier" in message


@pytest.mark.slow
def test_the_stage_trains_a_verifier_that_tells_handwriting_from_print(project):
    write_params(project, {"synthetic": {"width": 320, "height": 360},
                           "verifier": {"pages": 100, "val_pages": 30, "widths": [320, 480], "epochs": 4,
                                        "printed_items": 6}})
    stage(project, "preflight")
    stage(project, "verifier")
    metrics = json.loads((project / "metrics" / "verifier.json").read_text())
    assert metrics["val_crops"] > 100 and 0 < metrics["val_handwriting_crops"] < metrics["val_crops"]
    majority = 1 - metrics["val_handwriting_crops"] / metrics["val_crops"]
    assert metrics["val_accuracy"] > majority + 0.05, metrics
    assert metrics["val_handwriting_kept"] > 0.6 and metrics["val_print_rejected"] > 0.6, metrics
    folder = project / "models" / "detector"
    first = {name: (folder / name).read_bytes() for name in ("verifier.pt", "verifier.onnx")}
    stage(project, "verifier")
    assert {name: (folder / name).read_bytes() for name in first} == first, "same params, same bytes"
    check_onnx_keeps_what_pytorch_keeps(folder)


def check_onnx_keeps_what_pytorch_keeps(folder) -> None:
    import onnx
    import onnxruntime as ort

    from hwdetect.training import runtime

    runtime.setup(2)
    from hwdetect.verify.crops import batch
    from hwdetect.verify.net import RAISE, SURE, load

    verifier = load(folder / "verifier.pt")
    img, handwriting, printed = render_page(9, 0, dataclasses.replace(SPEC, layouts={"typed_letter": 1.0}))
    boxes = np.array(handwriting + printed)
    crops, _ = batch(img, boxes)
    meta = {p.key: p.value for p in onnx.load(str(folder / "verifier.onnx")).metadata_props}
    session = ort.InferenceSession(str(folder / "verifier.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"crops": crops})
    kept_onnx = 1 / (1 + np.exp(-logits)) >= float(meta["threshold"])
    assert meta["crop"] == f"{CROP_HEIGHT}x{CROP_WIDTH}" and float(meta["threshold"]) == verifier.threshold
    assert verifier.snap and meta["snap"] == "hwdetect.verify.edges.snap_to_ink", "params.yaml snaps edges"
    assert meta["crops_of"] == "the snapped boxes", "the verifier judges a box on its ink"
    assert verifier.split and meta["split"].startswith("hwdetect.verify.pieces.drop_print"), "params.yaml cuts"
    assert meta["raise"].startswith(f"sigmoid(logits) >= {SURE} ") and f"score ** {RAISE}" in meta["raise"]
    assert verifier.close["zoom"] == 2 and meta["close_look"].startswith("hwdetect.verify.close.close_boxes (the "
                                                                         "page at 2x"), "params.yaml looks closer"
    assert (kept_onnx == verifier.keep(img, boxes)).all()


def fixed_net(logit: float):
    """A verifier network whose output is `logit` whatever the crop."""
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch

    from hwdetect.verify.net import VerifierNet

    net = VerifierNet()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(logit)
    return net


def test_a_box_the_verifier_is_sure_of_is_raised_unless_it_lies_under_a_line():
    from hwdetect.verify.net import RAISE, SURE, Verifier

    gray = np.full((200, 400), 230, np.uint8)
    gray[20:40, 20:300] = gray[120:140, 40:90] = 30
    line, alone, part, doubted = [18, 18, 302, 42], [38, 118, 92, 142], [100, 20, 160, 40], [200, 150, 260, 170]
    boxes, scores = np.array([line, alone, part, doubted], float), np.array([0.6, 0.12, 0.12, 0.04], np.float32)
    sure = Verifier(fixed_net(np.log(0.99 / 0.01)), 0.3, snap=False)
    got = sure.rescore(gray, boxes, scores)
    assert got == pytest.approx([0.6 ** RAISE, 0.12 ** RAISE, 0.12, 0.04 ** RAISE], abs=1e-5)
    assert got[1] >= 0.25 > scores[1], "a signature the detector barely saw is kept at conf 0.25"
    assert sure.detector_conf(0.25) ** RAISE == pytest.approx(0.25) and sure.detector_conf(0.25) < 0.12
    keeps = Verifier(fixed_net(np.log(0.9 / 0.1)), 0.3, snap=False)
    assert 0.9 < SURE and keeps.rescore(gray, boxes, scores) == pytest.approx(scores), "kept, not raised"
    doubts = Verifier(fixed_net(np.log(0.1 / 0.9)), 0.3, snap=False)
    assert doubts.rescore(gray, boxes, scores) == pytest.approx(scores * 0.1, abs=1e-6), "ranked down"


def fixed_verifier(path, keep: bool, snap: bool = False) -> None:
    """A verifier that keeps every box, with its score (p = 0.9: over the threshold, under SURE), or none (p ~ 0)."""
    from hwdetect.verify.net import save

    save(path, fixed_net(np.log(0.9 / 0.1) if keep else -50.0), 0.5, snap, split=False)


@pytest.mark.slow
def test_a_rejected_box_is_gone_from_predict_and_evaluate(trained_project, tmp_path):
    p, page = trained_project, tmp_path / "pages"
    page.mkdir()
    Image.open(next((p / "data" / "split" / "images" / "test").iterdir())).save(page / "page.png")
    fixed_verifier(tmp_path / "all.pt", keep=True)
    fixed_verifier(tmp_path / "none.pt", keep=False)
    fixed_verifier(tmp_path / "snap.pt", keep=True, snap=True)
    boxes = {}
    for name, flags in (("plain", ["--no-verifier"]), ("all", ["--verifier", str(tmp_path / "all.pt")]),
                        ("none", ["--verifier", str(tmp_path / "none.pt")]),
                        ("snap", ["--verifier", str(tmp_path / "snap.pt")])):
        run([sys.executable, "-m", "hwdetect.predict", "--model", "models/detector/best.pt", "--source", str(page),
             "--out", str(tmp_path / name), "--conf", "0.001", *flags], p)
        record = json.loads((tmp_path / name / "json" / "page.png.json").read_text())
        boxes[name] = record["boxes"]
        assert record["verifier"] == (None if name == "plain" else str(tmp_path / f"{name}.pt"))
        stage(p, "evaluate", "--data", "data/split/dataset.yaml", "--split", "test", "--out",
              str(tmp_path / f"eval-{name}"), "--keep-conf", "0.001", *flags)
    assert boxes["plain"] and boxes["all"] == boxes["plain"] and boxes["none"] == []
    assert boxes["snap"] != boxes["plain"] and {b["score"] for b in boxes["snap"]} <= {b["score"] for b in boxes["plain"]}
    metrics = {n: json.loads((tmp_path / f"eval-{n}" / "metrics.json").read_text()) for n in boxes}
    assert metrics["plain"]["errors"]["boxes"] > 0 and metrics["none"]["errors"]["boxes"] == 0
    assert not metrics["none"]["mAP50"] and not metrics["none"]["recall"]  # 0, or None where nothing was scored
    for key in ("mAP50", "mAP50-95", "precision", "recall"):
        assert metrics["all"][key] == metrics["plain"][key]
    bad = run([sys.executable, "-m", "hwdetect.predict", "--model", "models/detector/best.pt", "--source", str(page),
               "--out", str(tmp_path / "bad"), "--verifier", str(page / "page.png")], p, check=False)
    assert bad.returncode == 2 and "page.png: cannot be read as a verifier" in bad.stderr
    assert not (tmp_path / "bad").exists(), "nothing written"
    bad = stage(p, "evaluate", "--data", "data/split/dataset.yaml", "--out", str(tmp_path / "bad-eval"), "--verifier",
                str(tmp_path / "missing.pt"), check=False)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "missing.pt: not found" in bad.stderr
    assert not (tmp_path / "bad-eval").exists(), "nothing written"

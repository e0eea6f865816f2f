"""The `predict` tool: odd image files in, boxes in original pixels out; .pt and .onnx agree; clear errors."""
from __future__ import annotations

import csv
import json
import shutil
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import ROOT, run
from hwdetect.predict import predict
from hwdetect.sources.images import ORIENTATION_TAG, ImagePages, read_displayed_rgb
from hwdetect.sources.pdf import PdfPages
from hwdetect.training import runtime

# .pt and .onnx see the same letterboxed input (rect=False), so they must give the same boxes up to float rounding.
MAX_COORD_DIFF_PX, MIN_IOU, MAX_SCORE_DIFF = 0.5, 0.99, 1e-3


@pytest.fixture(scope="session")
def models(trained_project, tmp_path_factory) -> Path:
    """The tiny trained best.pt and its ONNX export (imgsz 64), in a folder of their own."""
    from hwdetect.evaluation.export import export_onnx

    folder = tmp_path_factory.mktemp("models")
    shutil.copyfile(trained_project / "models" / "detector" / "best.pt", folder / "best.pt")
    runtime.setup()
    export_onnx(folder / "best.pt", folder / "best.onnx", imgsz=64, opset=17)
    return folder


def pages(trained_project: Path) -> list[Path]:
    return sorted((trained_project / "data" / "split" / "images").rglob("*.jpg"))


def odd_files(folder: Path, page: Path) -> dict[str, tuple[int, int]]:
    """Images in unusual forms made from one page, and two files that are not images; name → displayed size."""
    base = Image.open(page).convert("RGB")
    w, h = base.size
    folder.mkdir()
    base.convert("L").save(folder / "gray.png")
    rgba, alpha = base.convert("RGBA"), Image.new("L", base.size, 255)
    ImageDraw.Draw(alpha).rectangle((0, h // 2, w, h), fill=0)  # the lower half transparent
    rgba.putalpha(alpha)
    rgba.save(folder / "rgba.png")
    Image.fromarray(np.asarray(base.convert("L"), dtype=np.uint16) * 257).save(folder / "deep16.png")
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # stored turned a quarter left; shown upright
    base.transpose(Image.Transpose.ROTATE_90).save(folder / "phone.jpg", exif=exif, quality=95)
    base.resize((4000, 3000)).save(folder / "big.jpg", quality=90)
    (folder / "sub").mkdir()
    base.save(folder / "sub" / "page.jpg")
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")  # cut short: not readable
    # Two scanned pages at 100 dpi in one PDF; predict renders them at 200 dpi (twice the pixels).
    base.save(folder / "booklet.pdf", save_all=True, append_images=[base.transpose(Image.Transpose.FLIP_TOP_BOTTOM)],
              resolution=100)
    return {"big.jpg": (4000, 3000), "deep16.png": (w, h), "gray.png": (w, h), "phone.jpg": (w, h),
            "rgba.png": (w, h), "sub/page.jpg": (w, h), "booklet.pdf.page001": (2 * w, 2 * h),
            "booklet.pdf.page002": (2 * w, 2 * h)}


def drawn_page(path: Path) -> Path:
    img = Image.new("RGB", (320, 240), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for y in range(30, 220, 40):
        draw.line([(20 + 7 * k, y + (k % 3) * 4) for k in range(40)], fill=(20, 30, 120), width=3)
    img.save(path)
    return path


def test_image_modes_are_read_as_8bit_rgb_upright(tmp_path):
    sizes = odd_files(tmp_path / "in", drawn_page(tmp_path / "page.png"))
    assert Image.open(tmp_path / "in" / "deep16.png").mode == "I;16"
    grey = np.asarray(Image.open(tmp_path / "in" / "gray.png"))
    for name in ("gray.png", "deep16.png", "rgba.png", "phone.jpg"):
        rgb, orientation = read_displayed_rgb(tmp_path / "in" / name)
        assert rgb.dtype == np.uint8 and rgb.shape == (sizes[name][1], sizes[name][0], 3), name
        assert orientation == (6 if name == "phone.jpg" else 1)
    assert np.abs(read_displayed_rgb(tmp_path / "in" / "deep16.png")[0][:, :, 0].astype(int) - grey).max() <= 1
    rgba = read_displayed_rgb(tmp_path / "in" / "rgba.png")[0]
    assert (rgba[-5:] == 255).all()  # the transparent half is white paper


@pytest.mark.slow
def test_cli_writes_boxes_in_original_pixels_for_odd_images(tmp_path, trained_project, models):
    sizes = odd_files(tmp_path / "in", pages(trained_project)[0])
    result = run([sys.executable, "-m", "hwdetect.predict", "--model", str(models / "best.pt"), "--source",
                  str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--conf", "0.001", "--crops"], trained_project)
    out = tmp_path / "out"
    assert "predict: 8 pages" in result.stdout and "2 skipped" in result.stdout
    assert "warning: predict: 2 of 10 pages or files skipped (1 not an image file Pillow can read; 1 PDF: cannot " \
           "read it" in result.stdout
    with (out / "predictions.csv").open(newline="") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    assert list(rows) == sorted(rows) == sorted([*sizes, "notes.txt", "scan.pdf"])
    assert (rows["notes.txt"]["status"], rows["notes.txt"]["reason"]) == ("skipped", "not an image file Pillow can read")
    assert rows["scan.pdf"]["reason"].startswith("PDF: cannot read it (")
    total = 0
    for name, (w, h) in sizes.items():
        record = json.loads((out / "json" / f"{name}.json").read_text())
        if ".pdf." in name:  # a rendered page: its size in points, times 200/72, rounded up by pdfium
            w, h = record["width"], record["height"]
            assert abs(w - sizes[name][0]) <= 1 and abs(h - sizes[name][1]) <= 1 and record["pdf_dpi"] == 200
        assert (record["width"], record["height"]) == (w, h) and rows[name]["status"] == "ok"
        assert record["imgsz"] == 64 and record["model_format"] == "pt"  # the size the model was trained at
        assert record["exif_orientation"] == (6 if name == "phone.jpg" else 1)
        assert Image.open(out / "annotated" / f"{name}.jpg").size == (w, h)
        assert int(rows[name]["boxes"]) == len(record["boxes"])
        for box in record["boxes"]:
            x0, y0, x1, y1 = box["xyxy"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and 0.001 <= box["score"] <= 1
            crop = Image.open(out / box["crop"]).size
            assert abs(crop[0] - (x1 - x0)) <= 1.5 and abs(crop[1] - (y1 - y0)) <= 1.5
        assert [b["xyxy"][1] for b in record["boxes"]] == sorted(b["xyxy"][1] for b in record["boxes"])
        total += len(record["boxes"])
    assert total > 0
    big = json.loads((out / "json" / "big.jpg.json").read_text())["boxes"]
    assert big and max(b["xyxy"][2] for b in big) > 1000  # in the 4000 px image's pixels, not the model's 64


def match(a: list[dict], b: list[dict]) -> list[tuple[float, float, float]]:
    """Pair the boxes one to one, nearest first (1 px ~ 0.001 score): (largest coordinate difference, IoU, score
    difference) per pair. A barely trained model repeats boxes, so matching by position alone is ambiguous."""
    def iou(p: list[float], q: list[float]) -> float:
        iw, ih = max(0, min(p[2], q[2]) - max(p[0], q[0])), max(0, min(p[3], q[3]) - max(p[1], q[1]))
        return iw * ih / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - iw * ih)

    def gap(p: dict, q: dict) -> float:
        return max(abs(x - y) for x, y in zip(p["xyxy"], q["xyxy"]))

    costs = sorted((gap(p, q) + 1000 * abs(p["score"] - q["score"]), i, j)
                   for i, p in enumerate(a) for j, q in enumerate(b))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in costs:
        if i not in used_a and j not in used_b:
            used_a.add(i), used_b.add(j)
            pairs.append((gap(a[i], b[j]), iou(a[i]["xyxy"], b[j]["xyxy"]), abs(a[i]["score"] - b[j]["score"])))
    return pairs


@pytest.mark.slow
def test_pt_and_onnx_give_the_same_boxes(tmp_path, trained_project, models):
    src = tmp_path / "pages"
    src.mkdir()
    for page in pages(trained_project)[:6]:
        shutil.copyfile(page, src / page.name)
    out = {fmt: tmp_path / fmt for fmt in ("pt", "onnx")}
    for fmt, folder in out.items():
        rows = predict(models / f"best.{fmt}", src, folder, conf=0.001)
        assert all(r["status"] == "ok" for r in rows)
    pairs = []
    for record in sorted((out["pt"] / "json").glob("*.json")):
        a = json.loads(record.read_text())
        b = json.loads((out["onnx"] / "json" / record.name).read_text())
        assert (a["imgsz"], b["imgsz"], b["model_format"]) == (64, 64, "onnx")
        assert len(a["boxes"]) == len(b["boxes"]), record.name
        pairs += match(a["boxes"], b["boxes"])
    assert pairs, "the tiny model found no box at all; the comparison would prove nothing"
    worst = [max(p[0] for p in pairs), min(p[1] for p in pairs), max(p[2] for p in pairs)]
    print(f"pt vs onnx on {len(pairs)} boxes: max coordinate difference {worst[0]:.3f} px, min IoU {worst[1]:.5f}, "
          f"max score difference {worst[2]:.1e}")
    assert worst[0] <= MAX_COORD_DIFF_PX and worst[1] >= MIN_IOU and worst[2] <= MAX_SCORE_DIFF


def predict_cli(project: Path, *args: str):
    return run([sys.executable, "-m", "hwdetect.predict", *args], project, check=False)


def test_bad_arguments_are_one_line_errors_with_exit_code_2(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    model = tmp_path / "best.pt"  # never loaded: the arguments are checked first
    model.write_bytes(b"")
    cases = {
        ("--model", str(tmp_path / "nope.pt"), "--source", str(tmp_path / "in"), "--out", str(tmp_path / "o")):
            f"--model {tmp_path}/nope.pt: not found; run `dvc repro` to build models/detector/best.pt and best.onnx, "
            f"or pass the path of one",
        ("--model", str(tmp_path / "model.h5"), "--source", str(tmp_path / "in"), "--out", str(tmp_path / "o")):
            f"--model {tmp_path}/model.h5: expected a .pt or .onnx file",
        ("--model", str(model), "--source", str(tmp_path / "empty"), "--out", str(tmp_path / "o")):
            f"--source {tmp_path}/empty: the folder has no files; put page images in it",
        ("--model", str(model), "--source", str(tmp_path / "missing"), "--out", str(tmp_path / "o")):
            f"--source {tmp_path}/missing: not found; pass a folder of page images or one image",
        ("--model", str(model), "--source", str(tmp_path / "in"), "--out", str(tmp_path / "full")):
            f"{tmp_path}/full: exists and was not written by hwdetect.predict (it has no .hwdetect-output marker); "
            f"choose a new folder, or move it away first",
    }
    for args, message in cases.items():
        result = predict_cli(ROOT, *args)
        assert (result.returncode, result.stderr) == (2, f"error: {message}\n"), args
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me" and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_broken_model_file_is_a_one_line_error(tmp_path):
    (tmp_path / "in").mkdir()
    Image.new("L", (64, 64), 255).save(tmp_path / "in" / "a.png")
    (tmp_path / "best.pt").write_bytes(b"not a checkpoint")
    result = predict_cli(ROOT, "--model", str(tmp_path / "best.pt"), "--source", str(tmp_path / "in"),
                         "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: --model {tmp_path}/best.pt: cannot load the model (")


def fax(path: Path, pages: int) -> None:
    """A fax-like multi-page TIFF (1-bit, Group 4) or PDF of A4 pages at 100 dpi, each page numbered by a bar."""
    images = [Image.new("1", (827, 1169), 1) for _ in range(pages)]
    for number, img in enumerate(images):
        ImageDraw.Draw(img).rectangle((50, 50 + 30 * number, 700, 60 + 30 * number), fill=0)
    extra = {"compression": "group4"} if path.suffix == ".tif" else {}
    images[0].save(path, save_all=True, append_images=images[1:], resolution=100, **extra)


@pytest.mark.parametrize("suffix, reader", [(".tif", ImagePages), (".pdf", lambda path: PdfPages(path, 100))])
def test_pages_are_read_one_at_a_time_in_bounded_memory(suffix, reader, tmp_path, monkeypatch):
    """30 pages of 2.9 MB each as RGB: reading them all holds about one page at a time, and the file is opened once."""
    fax(tmp_path / f"fax{suffix}", 30)
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k))
    tracemalloc.start()
    try:
        with reader(tmp_path / f"fax{suffix}") as pages:
            bars = [int(np.argmax(pages.page(i)[:, 100, 0] == 0)) for i in range(len(pages))]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert bars == [50 + 30 * n for n in range(30)]  # every page, in order
    page_bytes = 827 * 1169 * 3
    assert peak < 3 * page_bytes, f"peak {peak / 1e6:.1f} MB while reading pages of {page_bytes / 1e6:.1f} MB"
    assert len(opened) <= 2, opened  # the check of the first page, then one reading pass: never once per page

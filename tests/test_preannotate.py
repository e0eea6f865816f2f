"""Pre-annotations: every format read back by the `custom` stage gives the same boxes, least-sure pages come first,
and the command runs on real pages with a real model."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from hwdetect.preannotate.formats import FORMATS, write_all
from hwdetect.preannotate.merge import RECORD, kept_line, merge, read_record
from hwdetect.preannotate.names import assign_names, readable_name
from hwdetect.preannotate.uncertainty import least_sure_first, uncertainty
from hwdetect.sources.custom.convert import convert
from hwdetect.sources.images import ORIENTATION_TAG

PAGES = [("scan_a.jpg", (400, 300), [[10.5, 20.25, 200.75, 60.5], [30, 100, 390, 140]]),
         ("scan_b.png", (640, 200), [[0, 0, 640, 50]]),
         ("blank.jpg", (300, 300), [])]


def pages(tmp_path: Path) -> list[dict]:
    found = []
    for number, (name, size, boxes) in enumerate(PAGES):
        path = tmp_path / "pages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (255 - number, 255, 255)).save(path)
        found.append({"name": name, "image": path, "width": size[0], "height": size[1],
                      "boxes": [{"xyxy": b, "score": 0.3 + 0.1 * k} for k, b in enumerate(boxes)]})
    return found


def pixel_boxes(label_file: Path, width: int, height: int) -> list[list[float]]:
    rows = [[float(v) for v in line.split()[1:]] for line in label_file.read_text().splitlines()]
    return [[(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
            for cx, cy, w, h in rows]


@pytest.mark.parametrize("fmt", ["yolo", "voc", "coco"])
def test_pre_annotations_read_back_by_the_custom_stage_give_the_same_boxes(tmp_path, fmt):
    written = pages(tmp_path)
    write_all(tmp_path / "out", written, FORMATS, "best.pt@0123456789ab")
    report = convert(tmp_path / "out" / fmt, tmp_path / "custom", fmt=fmt)
    assert report["images"]["converted"] == len(PAGES)
    assert all(items == [] for items in report["problems"].values()), report["problems"]
    for page in written:
        label = next((tmp_path / "custom" / "labels").glob(f"*{Path(page['name']).stem}.txt"))
        got = pixel_boxes(label, page["width"], page["height"])
        assert len(got) == len(page["boxes"])
        for box, expected in zip(got, page["boxes"]):
            assert box == pytest.approx(expected["xyxy"], abs=1.0)  # within a pixel


def test_label_studio_tasks_hold_predictions_in_percent_with_scores(tmp_path):
    written = pages(tmp_path)
    write_all(tmp_path / "out", written, ["label-studio"], "best.pt@0123456789ab")
    out = tmp_path / "out" / "label-studio"
    tasks = json.loads((out / "tasks.json").read_text())
    assert "<RectangleLabels name=\"label\" toName=\"image\">" in (out / "label_config.xml").read_text()
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d=images/{p['name']}" for p in written]
    for task, page in zip(tasks, written):
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == "best.pt@0123456789ab"
        assert (out / "images" / page["name"]).read_bytes() == page["image"].read_bytes()
        for result, box in zip(prediction["result"], page["boxes"]):
            v, (x0, y0, x1, y1) = result["value"], box["xyxy"]
            assert result["type"] == "rectanglelabels" and v["rectanglelabels"] == ["handwriting"]
            assert result["score"] == box["score"] and result["original_width"] == page["width"]
            assert [v["x"] * page["width"] / 100, v["y"] * page["height"] / 100] == pytest.approx([x0, y0])
            assert [v["width"] * page["width"] / 100, v["height"] * page["height"] / 100] == pytest.approx(
                [x1 - x0, y1 - y0])


def test_least_sure_pages_come_first():
    def box(score, x0=0):
        return {"xyxy": [x0, 0, x0 + 100, 20], "score": score}

    sure = [box(0.95), box(0.9, 200)]                     # two clear lines: 0
    borderline = [box(0.95), box(0.3, 200), box(0.15, 400)]  # two scores near the threshold: 2
    overlapping = [box(0.9), box(0.85, 5)]                # one line found twice: 2 overlapping boxes
    nothing = [box(0.07)]                                 # nothing kept, best score low: 2
    assert [uncertainty(b, 0.25) for b in (sure, borderline, overlapping, nothing)] == [0, 2, 2, 2]
    ranked = least_sure_first([{"name": n, "uncertainty": uncertainty(b, 0.25),
                                "max_score": max(x["score"] for x in b if x["score"] >= 0.25) if n != "nothing" else 0}
                               for n, b in (("sure", sure), ("borderline", borderline), ("overlapping", overlapping),
                                            ("nothing", nothing))])
    assert [p["name"] for p in ranked] == ["nothing", "overlapping", "borderline", "sure"]  # ties: lower best score first


@pytest.mark.slow
def test_command_pre_annotates_the_least_sure_pages_of_a_folder(tmp_path, trained_project):
    source = tmp_path / "unlabelled"
    for image in sorted((trained_project / "data/split/images/test").iterdir())[:3]:
        (source / "batch").mkdir(parents=True, exist_ok=True)
        (source / "batch" / image.name).write_bytes(image.read_bytes())
    photo = Image.open(next((source / "batch").iterdir()))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # a phone photo stored on its side
    photo.save(source / "photo.jpg", exif=exif)
    (source / "scan.pdf").write_bytes(b"%PDF-1.4\n")  # cut short
    photo.convert("RGB").save(source / "booklet.pdf", save_all=True, append_images=[photo.convert("RGB")])
    out = tmp_path / "labelling"
    result = subprocess.run([sys.executable, "-m", "hwdetect.preannotate", "--model",
                             str(trained_project / "models/detector/best.pt"), "--source", str(source), "--out", str(out),
                             "--worst", "2", "--conf", "0.01", "--pdf-dpi", "100"],
                            cwd=trained_project, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    with (out / "preannotations.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 and [r["status"] for r in rows].count("written") == 2
    assert next(r for r in rows if r["file"] == "scan.pdf")["reason"].startswith("PDF: cannot read it (")
    assert {"booklet.pdf.page001", "booklet.pdf.page002"} <= {r["file"] for r in rows}  # each page, named by page
    ranked = [int(r["uncertainty"]) for r in rows if r["rank"]]
    assert ranked == sorted(ranked, reverse=True)
    assert sorted(p.name for p in out.iterdir()) == [".hwdetect-output", ".preannotate.json", "coco", "label-studio",
                                                     "preannotations.csv", "voc", "yolo"]
    report = convert(out / "coco", tmp_path / "custom", fmt="coco")
    assert report["images"]["converted"] == 2
    if any(r["file"] == "photo.jpg" and r["status"] == "written" for r in rows):  # written upright, as displayed
        assert Image.open(out / "voc" / "photo.jpg").size == photo.size[::-1]


def test_page_names_differ_beyond_extension_and_letter_case_whatever_the_order_of_the_files():
    files = ["scan.png", "scan.jpg", "a/b.png", "a__b.png", "classes.png", "obj.jpg", "readme_1.png", "Scan.bmp",
             "anim.gif", "fax.tif.page001"]
    proposed = {f: readable_name(f) if "page0" not in f else f"{f}.png" for f in files}
    named = []
    for order in (files, files[::-1]):
        found = [{"file": f, "name": proposed[f]} for f in order]
        assign_names(found, {})
        named.append({p["file"]: p["name"] for p in found})
    assert named[0] == named[1]  # the same names whatever order the files were read in
    stems = [Path(n).stem.casefold() for n in named[0].values()]
    assert len(set(stems)) == len(files)
    assert named[0]["a__b.png"] == "a__b.png" and named[0]["a/b.png"] == "a__b_2.png"  # the exact name wins
    assert named[0]["classes.png"] == "page_classes.png" and named[0]["readme_1.png"] == "page_readme_1.png"
    assert named[0]["anim.gif"] == "anim.gif.png" and named[0]["fax.tif.page001"] == "fax.tif.page001.png"


def test_a_page_of_an_earlier_run_keeps_its_name_and_newcomers_avoid_it():
    found = [{"file": "scan.jpg", "name": "scan.jpg"}, {"file": "scan.png", "name": "scan.png"}]
    assign_names(found, {"scan.png": "scan.png", "gone.png": "Other.png"})
    assert [p["name"] for p in found] == ["scan_2.jpg", "scan.png"]
    newcomer = [{"file": "other.png", "name": "other.png"}]
    assign_names(newcomer, {"gone.png": "Other.png"})
    assert newcomer[0]["name"] == "other_2.png"


def listed(written: list[dict]) -> dict[str, list[dict]]:
    return {fmt: [{k: p[k] for k in ("file", "name", "width", "height", "boxes")} for p in written]
            for fmt in FORMATS}


def test_merge_keeps_what_the_user_changed_or_added_and_replaces_only_its_own_files(tmp_path):
    written = pages(tmp_path)
    for p in written:
        p["file"] = p["name"]
    first, second = tmp_path / "first", tmp_path / "second"
    write_all(first, written, ["voc", "yolo"], "best.pt@1")
    assert merge(tmp_path / "none", first, read_record(tmp_path / "none"), listed(written)) == {
        "changed": [], "added": [], "earlier": []}
    (first / "voc" / "scan_a.xml").write_text("<annotation>corrected</annotation>\n")
    (first / "voc" / "notes.md").write_text("my notes\n")
    (first / "yolo" / "obj_train_data" / "scan_b.txt").write_text("0 0.5 0.5 0.2 0.2\n")  # the model's lines, moved
    record = read_record(first)
    write_all(second, written[:1], ["voc"], "best.pt@2")  # this run: scan_a in voc only
    kept = merge(first, second, record, listed(written[:1]))
    assert kept["changed"] == ["voc/scan_a.xml", "yolo/obj_train_data/scan_b.txt"] and kept["added"] == ["voc/notes.md"]
    assert "voc/scan_b.png" in kept["earlier"] and "yolo/train.txt" in kept["earlier"]
    assert "voc/scan_a.png" not in kept["earlier"]  # the model's own, unchanged: replaced by this run's
    assert (second / "voc" / "scan_a.xml").read_text() == "<annotation>corrected</annotation>\n"
    assert (second / "voc" / "notes.md").read_text() == "my notes\n"
    again = json.loads((second / RECORD).read_text())["files"]
    assert again["voc/scan_a.xml"] == record["files"]["voc/scan_a.xml"]  # still the user's in the next run
    assert "voc/notes.md" not in again
    line = kept_line(kept, recorded=True)
    assert "2 files you changed (voc/scan_a.xml" in line and "1 file you added (voc/notes.md)" in line

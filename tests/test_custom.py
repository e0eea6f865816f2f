"""The `custom` stage: each annotation format converted exactly, classes mapped, problems reported, clear errors."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import stage
from hwdetect.cli import UserError
from hwdetect.sources.custom.convert import convert, output_name
from hwdetect.sources.images import ORIENTATION_TAG, displayed_box
from hwdetect.sources.index import index

W, H = 200, 100  # stored size of every test page


@pytest.fixture(autouse=True)
def paths_shown_from_tmp(tmp_path, monkeypatch):
    """Messages name files relative to the project root; here the test's folder stands in for it."""
    monkeypatch.setattr("hwdetect.paths.ROOT", tmp_path)


def page(path: Path, size: tuple[int, int] = (W, H), orientation: int | None = None,
         marker: tuple[int, int, int, int] | None = None) -> Path:
    """A white page (JPEG or PNG by suffix), optionally with a black marker box and an EXIF orientation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, "white")
    if marker:
        ImageDraw.Draw(img).rectangle((marker[0], marker[1], marker[2] - 1, marker[3] - 1), fill="black")
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION_TAG] = orientation
    img.save(path, exif=exif, quality=95)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def voc(path: Path, objects: list[tuple[str, tuple[float, ...]]], size: tuple[int, int] | None = (W, H)) -> Path:
    size_xml = f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>" if size else ""
    objs = "".join(f"<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
                   f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>\n" for n, b in objects)
    head = f"<folder>x</folder><filename>{path.stem}.jpg</filename>{size_xml}"
    return text(path, f"<annotation>\n{head}\n{objs}</annotation>\n")


def coco(path: Path, images: list[tuple[int, str]], boxes: list[tuple[int, int, list[float]]],
         categories: dict[int, str]) -> Path:
    return text(path, json.dumps({
        "images": [{"id": i, "file_name": f, "width": W, "height": H} for i, f in images],
        "annotations": [{"id": k, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
                        for k, (i, c, b) in enumerate(boxes, start=1)],
        "categories": [{"id": i, "name": n, "supercategory": "none"} for i, n in categories.items()]}, indent=1))


def labels(out: Path, name: str) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in (out / "labels" / f"{name}.txt").read_text().splitlines()]


def groups(out: Path) -> dict[str, str]:
    with (out / "groups.csv").open(newline="") as f:
        return {row["image"]: row["group"] for row in csv.DictReader(f)}


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def boxes_add_up(report: dict) -> dict[str, int]:
    """The report's box counts, checked: every box of the source is converted or dropped for one reason."""
    boxes = report["boxes"]
    dropped = sum(v for k, v in boxes.items() if k.startswith("dropped_"))
    assert boxes["source"] == boxes["converted"] + dropped, boxes
    return nonzero(boxes)


def approx(rows: list[list[float]]) -> list:
    return [pytest.approx(r, abs=2e-6) for r in rows]


# ---------------------------------------------------------------- formats

def test_labelimg_yolo_with_classes_txt(tmp_path, monkeypatch):
    src, out = tmp_path / "custom", tmp_path / "sources" / "custom"
    text(src / "classes.txt", "printed\nhandwriting\n")
    page(src / "letter1" / "p1.jpg")
    text(src / "letter1" / "p1.txt", "1 0.350000 0.200000 0.500000 0.200000\n0 0.5 0.5 0.2 0.2\n\n")
    page(src / "loose.png")
    text(src / "loose.txt", "")  # a page without handwriting: kept, with no boxes
    report = convert(src, out)
    assert report["format"] == "yolo" and report["images"]["converted"] == 2
    assert labels(out, "letter1__p1") == approx([[0, 0.35, 0.2, 0.5, 0.2]])
    assert labels(out, "loose") == []
    assert groups(out) == {"letter1__p1.jpg": "letter1", "loose.png": "loose"}
    assert report["problems"]["unmapped_classes"] == [
        "custom/letter1/p1.txt:2: class 'printed' is not in custom.classes; dropped"]
    assert report["classes"] == {"handwriting": {"boxes": 1, "to": "handwriting"}, "printed": {"boxes": 1, "to": None}}
    assert json.loads((out / "report.json").read_text()) == report
    # The source stage's check of the contract.
    assert [row[:2] + row[4:] for row in index(out)] == [("letter1__p1.jpg", "letter1", 1),
                                                                     ("loose.png", "loose", 0)]


def test_roboflow_yolov8_export(tmp_path):
    src, out = tmp_path / "rf", tmp_path / "out"
    text(src / "data.yaml", "train: ../train/images\nval: ../valid/images\nnc: 2\nnames: ['handwritten', 'stamp']\n")
    text(src / "README.roboflow.txt", "Exported from roboflow.com\n")
    for split_name, stem, line in [("train", "IMG_1_jpg.rf.0a1b", "0 0.5 0.5 0.4 0.1"),
                                   ("train", "IMG_1_jpg.rf.9f8e", "0 0.1 0.2 0.3 0.2 0.3 0.4 0.1 0.4"),  # polygon
                                   ("valid", "IMG_2_jpg.rf.77aa", "1 0.5 0.5 0.2 0.2")]:
        page(src / split_name / "images" / f"{stem}.jpg", marker=(0, 0, 9, 9) if "IMG_2" in stem else None)
        text(src / split_name / "labels" / f"{stem}.txt", line + "\n")
    report = convert(src, out)
    assert report["format"] == "yolo" and report["images"]["converted"] == 3
    assert labels(out, "train__IMG_1_jpg.rf.0a1b") == approx([[0, 0.5, 0.5, 0.4, 0.1]])
    assert labels(out, "train__IMG_1_jpg.rf.9f8e") == approx([[0, 0.2, 0.3, 0.2, 0.2]])  # the polygon's bounding box
    assert labels(out, "valid__IMG_2_jpg.rf.77aa") == []  # 'stamp' is not handwriting
    # Augmented copies of one photo share a group, so they never straddle train and test.
    assert groups(out) == {"train__IMG_1_jpg.rf.0a1b.jpg": "IMG_1", "train__IMG_1_jpg.rf.9f8e.jpg": "IMG_1",
                           "valid__IMG_2_jpg.rf.77aa.jpg": "IMG_2"}


def test_cvat_yolo_and_label_studio_yolo_exports(tmp_path):
    cvat, studio = tmp_path / "cvat", tmp_path / "studio"
    text(cvat / "obj.names", "handwriting\n")
    text(cvat / "obj.data", "classes = 1\nnames = data/obj.names\n")
    text(cvat / "train.txt", "data/obj_train_data/p1.jpg\n")
    page(cvat / "obj_train_data" / "p1.jpg")
    text(cvat / "obj_train_data" / "p1.txt", "0 0.35 0.2 0.5 0.2\n")
    text(studio / "classes.txt", "handwriting\n")
    text(studio / "notes.json", '{"categories": [{"id": 0, "name": "handwriting"}], "info": {}}')
    page(studio / "images" / "p1.jpg")
    text(studio / "labels" / "p1.txt", "0 0.35 0.2 0.5 0.2\n")
    for src, name, group in ((cvat, "obj_train_data__p1", "p1"), (studio, "p1", "p1")):
        report = convert(src, tmp_path / f"out_{src.name}")
        assert report["format"] == "yolo" and labels(tmp_path / f"out_{src.name}", name) == approx([[0, 0.35, 0.2, 0.5, 0.2]])
        assert groups(tmp_path / f"out_{src.name}") == {f"{name}.jpg": group}


def test_labelimg_pascal_voc(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "a.jpg")
    voc(src / "a.xml", [("text_hw", (20, 10, 120, 30)), ("handwriting", (0, 50, 200, 100))])
    report = convert(src, out)
    assert report["format"] == "voc"
    assert labels(out, "a") == approx([[0, 0.35, 0.2, 0.5, 0.2], [0, 0.5, 0.75, 1.0, 0.5]])


@pytest.mark.parametrize("layout", ["cvat", "label_studio", "roboflow"])
def test_coco_exports(tmp_path, layout):
    src, out = tmp_path / "custom", tmp_path / "out"
    json_file, image_dir, file_name = {
        "cvat": ("annotations/instances_default.json", "images", "scan 1.jpg"),
        "label_studio": ("result.json", "images", "images/scan 1.jpg"),
        "roboflow": ("train/_annotations.coco.json", "train", "scan 1.jpg")}[layout]
    page(src / image_dir / "scan 1.jpg")
    coco(src / json_file, [(7, file_name)], [(7, 1, [20, 10, 100, 20]), (7, 2, [0, 0, 10, 10])],
         {0: "documents", 1: "Handwriting", 2: "printed"})
    report = convert(src, out, classes={"Handwriting": "handwriting"})
    assert report["format"] == "coco" and report["images"]["converted"] == 1
    name = output_name("train/scan 1" if layout == "roboflow" else "scan 1", ".jpg")
    assert name in ("scan_1.jpg", "train__scan_1.jpg")
    assert labels(out, Path(name).stem) == approx([[0, 0.35, 0.2, 0.5, 0.2]])
    assert report["problems"]["unmapped_classes"] == [f"custom/{json_file}: annotation id 2: class 'printed' is not in "
                                                      f"custom.classes; dropped"]


def test_current_cvat_exports_with_saved_images_find_them_in_the_subset_folder(tmp_path):
    """CVAT "COCO 1.0" with "Save images": images/<subset>/, file_name without the folder; a project has one JSON and
    one image folder per subset, and the same file name may be in two subsets."""
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "task" / "images" / "default" / "89.jpg")
    coco(src / "task" / "annotations" / "instances_default.json", [(1, "89.jpg")], [(1, 1, [20, 10, 100, 20])],
         {1: "handwriting"})
    for subset, box in (("Train", [10, 10, 50, 20]), ("Validation", [30, 40, 60, 20])):
        page(src / "project" / "images" / subset / "1.jpg")
        coco(src / "project" / "annotations" / f"instances_{subset}.json", [(1, "1.jpg")], [(1, 1, box)],
             {1: "handwriting"})
    report = convert(src, out)
    assert report["images"]["converted"] == 3 and report["problems"]["labels_without_images"] == []
    assert labels(out, "project__Train__1") == approx([[0, 0.175, 0.2, 0.25, 0.2]])
    assert labels(out, "project__Validation__1") == approx([[0, 0.3, 0.5, 0.3, 0.2]])


@pytest.mark.parametrize("file_name, image", [
    ("C:\\Users\\me\\scans\\p 2.jpg", "scans/p 2.jpg"),  # Windows, absolute: tried by its last folders
    ("scans\\p 2.jpg", "scans/p 2.jpg"),                 # Windows, relative
    ("/data/upload/3/p 2.jpg", "images/p 2.jpg"),         # Label Studio's upload path on its server
    ("images/3f2a9c1b-p 2.jpg", "images/p 2.jpg"),        # Label Studio's upload name, original file beside it
    ("images\\3f2a9c1b-p 2.jpg", "images/3f2a9c1b-p 2.jpg"),  # the export's own copy, written on Windows
])
def test_coco_file_names_as_windows_posix_and_label_studio_write_them(tmp_path, file_name, image):
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / image)
    coco(src / "result.json", [(1, file_name)], [(1, 1, [20, 10, 100, 20])], {1: "handwriting"})
    report = convert(src, out)
    assert report["images"]["converted"] == 1, report["problems"]
    assert [labels(out, f.stem) for f in (out / "labels").iterdir()] == [approx([[0, 0.35, 0.2, 0.5, 0.2]])]


def test_coco_entries_that_mostly_find_no_image_say_so_with_an_example(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    for name in ("images/default/a.jpg", "photos/b.jpg", "photos/c.jpg"):
        page(src / name)
    coco(src / "annotations" / "instances_default.json", [(1, "scan-1.jpg"), (2, "scan-2.jpg"), (3, "a.jpg")],
         [(1, 1, [20, 10, 100, 20])], {1: "handwriting"})
    with pytest.raises(UserError) as err:
        convert(src, out)
    assert str(err.value) == (
        "custom/annotations/instances_default.json: 2 of 3 image entries find no image file (e.g. image id 1 "
        "(scan-1.jpg), looked for in custom/annotations, custom/annotations/images/default, custom/images/default, "
        "custom/annotations/images, custom, custom/images); put the images where file_name points, or export again "
        "with the images (CVAT: 'Save images')")
    assert not out.exists()


def test_the_same_page_under_two_names_is_reported_and_kept_in_one_group(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    for folder, name in (("export-b", "scan.jpg"), ("export-a", "page 7.jpg"), ("export-a", "other.jpg")):
        page(src / folder / name, marker=(5, 5, 20, 20) if name == "other.jpg" else None)
        voc(src / folder / f"{Path(name).stem}.xml", [("handwriting", (20, 10, 120, 30))])
    report = convert(src, out)
    assert report["images"]["converted"] == 3
    assert report["problems"]["duplicate_images"] == [
        "custom/export-a/page 7.jpg, custom/export-b/scan.jpg: the same image under 2 names; all kept, in one group "
        "(export-a) so the page never straddles train and test; delete the copies if they are one page"]
    assert groups(out) == {"export-a__other.jpg": "export-a", "export-a__page_7.jpg": "export-a",
                           "export-b__scan.jpg": "export-a"}


def test_classes_mapped_to_null_are_dropped_quietly_and_unmapped_ones_can_stop_the_stage(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "a.jpg")
    voc(src / "a.xml", [("handwriting", (20, 10, 120, 30)), ("printed", (0, 0, 50, 50)), ("logo", (0, 60, 9, 99))])
    report = convert(src, out, classes={"handwriting": "handwriting", "printed": None})
    assert nonzero(report["boxes"]) == {"source": 3, "converted": 1, "dropped_unmapped": 1, "dropped_by_classes": 1}
    assert [p.split(": class")[0] for p in report["problems"]["unmapped_classes"]] == ["custom/a.xml: object 3"]
    with pytest.raises(UserError) as err:
        convert(src, tmp_path / "strict", classes={"handwriting": "handwriting", "printed": None}, unmapped="error")
    assert str(err.value) == ("custom/a.xml: object 3: class 'logo' is not in custom.classes; add `logo: handwriting` "
                              "(or `logo: null` to drop it) under custom.classes in params.yaml, or set "
                              "custom.unmapped: drop")
    assert not (tmp_path / "strict").exists()


def test_no_box_mapping_to_handwriting_is_an_error(tmp_path):
    page(tmp_path / "custom" / "a.jpg")
    voc(tmp_path / "custom" / "a.xml", [("Handschrift", (20, 10, 120, 30))])
    with pytest.raises(UserError, match=r"no box maps to handwriting \(classes found: Handschrift\)"):
        convert(tmp_path / "custom", tmp_path / "out")


# ---------------------------------------------------------------- broken files

BROKEN = {
    "yolo line": ({"classes.txt": "handwriting\n", "a.txt": "0 0.5 0.5 0.2 0.1\n0 0.5 0.5 0.2\n"},
                  "custom/a.txt:2: expected `class cx cy w h` (a class id and 4 numbers from 0 to 1), got "
                  "'0 0.5 0.5 0.2'; fix or delete the line"),
    "yolo class id": ({"classes.txt": "handwriting\n", "a.txt": "3 0.5 0.5 0.2 0.1\n"},
                      "custom/a.txt:1: class id 3 is not in custom/classes.txt (ids 0 to 0); fix the id or add the "
                      "class name there"),
    "yolo without names": ({"a.txt": "0 0.5 0.5 0.2 0.1\n"},
                           "custom/a.txt: no classes.txt, obj.names or data.yaml in its folder or above; add "
                           "classes.txt with one class name per line (line 1 is class 0)"),
    "xml": ({"a.xml": "<annotation>\n<object><name>handwriting</name>\n<bndbox></object>\n</annotation>\n"},
            "custom/a.xml:3: malformed XML (mismatched tag); fix it there or save the annotation again in labelImg"),
    "voc bndbox": ({"a.xml": "<annotation><object><name>hw</name><bndbox><xmin>1</xmin></bndbox></object>"
                             "</annotation>"},
                   "custom/a.xml: object 1 (hw): <bndbox> needs numbers <xmin>, <ymin>, <xmax>, <ymax>; fix the "
                   "object or delete it"),
    "json": ({"ann.json": '{"images": [\n  {"id": 1, "file_name": "a.jpg"},\n]}'},
             "custom/ann.json:3: invalid JSON (Expecting value, column 1); export the annotations again as COCO JSON"),
    "coco bbox": ({"ann.json": json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [
        {"id": 1, "name": "handwriting"}], "annotations": [
        {"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 2]}]})},
                  "custom/ann.json: annotation id 5: bbox must be [x, y, width, height] in pixels, got [1, 2]; export "
                  "the annotations again as COCO JSON"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_annotation_file_is_one_clear_line_and_leaves_the_output_alone(tmp_path, case):
    files, message = BROKEN[case]
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "a.jpg")
    for name, content in files.items():
        text(src / name, content)
    text(out / "earlier.txt", "an earlier conversion")
    with pytest.raises(UserError) as err:
        convert(src, out)
    assert str(err.value) == message
    assert [p.name for p in out.iterdir()] == ["earlier.txt"] and not (tmp_path / ".out.tmp").exists()


def test_missing_folder_and_mixed_formats_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match=r"custom: not found; put your annotated images there and track them with "
                                        r"`dvc add .*custom`"):
        convert(tmp_path / "custom", tmp_path / "out")
    page(tmp_path / "custom" / "a.jpg")
    voc(tmp_path / "custom" / "a.xml", [])
    text(tmp_path / "custom" / "b.txt", "")
    with pytest.raises(UserError, match=r"more than one format \(yolo, voc\); set custom.format"):
        convert(tmp_path / "custom", tmp_path / "out")
    assert convert(tmp_path / "custom", tmp_path / "out", fmt="voc")["images"]["converted"] == 1


# ---------------------------------------------------------------- validation report

def test_report_names_the_file_of_every_problem(tmp_path):
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "good.jpg")
    voc(src / "good.xml", [("handwriting", (20, 10, 120, 30)), ("handwriting", (150, 80, 230, 120)),
                           ("handwriting", (40, 40, 40.5, 60))])
    page(src / "unlabelled.jpg")
    voc(src / "orphan.xml", [("handwriting", (1, 1, 9, 9))])
    good = (src / "good.jpg").read_bytes()
    text(src / "truncated.jpg", "").write_bytes(good[: len(good) // 2])
    voc(src / "truncated.xml", [])
    text(src / "notes.jpg", "not an image")
    voc(src / "notes.xml", [])
    page(src / "twin.jpg")
    page(src / "twin.png")
    voc(src / "twin.xml", [])
    for folder, corner in (("batch1", 5), ("batch2", 7)):  # two different pages with one name
        page(src / folder / "scan.jpg", marker=(0, 0, corner, corner))
        voc(src / folder / "scan.xml", [("handwriting", (20, 10, 120, 30))])
    page(src / "resized.jpg")
    voc(src / "resized.xml", [("handwriting", (20, 10, 120, 30))], size=(400, 200))

    report = convert(src, out)
    problems = report["problems"]
    assert problems["images_without_labels"] == [
        "custom/unlabelled.jpg: no label; annotate it (an empty label marks a page without handwriting) or remove "
        "it (skipped)"]
    assert problems["labels_without_images"] == [
        "custom/orphan.xml: no image orphan.* beside it or in a parallel images/ folder; add the image or delete the "
        "label (1 boxes not used)"]
    assert problems["boxes_outside_image"] == [
        "custom/good.xml: object 2: box x 150.0..230.0, y 80.0..120.0 px reaches outside the 200x100 image; clipped"]
    assert problems["zero_area_boxes"] == ["custom/good.xml: object 3: zero-area box (0.5 x 20.0 px after clipping); "
                                           "dropped"]
    assert [p.split(": ")[0] for p in problems["unreadable_images"]] == ["custom/notes.jpg", "custom/truncated.jpg"]
    assert "truncated" in problems["unreadable_images"][1]
    assert problems["duplicate_names"] == [
        "custom/batch1/scan.jpg, custom/batch2/scan.jpg: same file name scan.jpg in different folders; both kept, as "
        "batch1__scan.jpg, batch2__scan.jpg; check they are different pages",
        "custom/twin.jpg, custom/twin.png: same name in one folder, so their labels cannot be told apart; rename all "
        "but one (skipped)"]
    assert problems["size_mismatch"] == [
        "custom/resized.xml: annotated as 400x200 but the image custom/resized.jpg is 200x100; annotate the image you "
        "ship, or ship the one you annotated (skipped)"]
    assert problems["duplicate_images"] == []
    assert report["images"] == {"found": 9, "converted": 3, "skipped": 6, "groups": 3, "skipped_by_problem": {
        "duplicate_names": 2, "images_without_labels": 1, "size_mismatch": 1, "unreadable_images": 2}}
    assert boxes_add_up(report) == {"source": 7, "converted": 4, "clipped": 1, "dropped_zero_area": 1,
                                    "dropped_image_missing": 1, "dropped_size_mismatch": 1}
    assert labels(out, "good") == approx([[0, 0.35, 0.2, 0.5, 0.2], [0, 0.875, 0.9, 0.25, 0.2]])
    assert sorted(p.name for p in (out / "images").iterdir()) == ["batch1__scan.jpg", "batch2__scan.jpg", "good.jpg"]
    assert (out / "images" / "good.jpg").read_bytes() == good  # no EXIF turn: copied byte for byte

    with pytest.raises(UserError) as err:
        convert(src, tmp_path / "strict", out_of_bounds="error")
    assert str(err.value) == ("custom/good.xml: object 2: box x 150.0..230.0, y 80.0..120.0 px reaches outside the "
                              "200x100 image; fix the box or set custom.out_of_bounds: clip")


# ---------------------------------------------------------------- EXIF orientation

def ink_box(path: Path) -> tuple[int, int, int, int]:
    dark = np.asarray(Image.open(path).convert("L")) < 128
    ys, xs = np.nonzero(dark)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_displayed_box_moves_boxes_as_pillow_turns_pixels(tmp_path):
    marker = (30, 20, 70, 35)
    for orientation in range(1, 9):
        path = page(tmp_path / f"o{orientation}.png", orientation=orientation, marker=marker)
        from PIL import ImageOps
        ImageOps.exif_transpose(Image.open(path)).save(tmp_path / "turned.png")
        assert displayed_box(marker, orientation, (W, H)) == ink_box(tmp_path / "turned.png"), orientation


def test_exif_rotated_photo_boxes_in_the_displayed_frame(tmp_path):
    """Default: YOLO boxes refer to the photo as viewers show it (CVAT, Label Studio, Roboflow, Ultralytics)."""
    src, out = tmp_path / "custom", tmp_path / "out"
    page(src / "phone.jpg", orientation=6, marker=(30, 20, 70, 35))  # stored 200x100, shown 100x200
    shown_box = displayed_box((30, 20, 70, 35), 6, (W, H))  # (65, 30, 80, 70)
    cx, cy, w, h = (shown_box[0] + shown_box[2]) / 200, (shown_box[1] + shown_box[3]) / 400, 15 / 100, 40 / 200
    text(src / "classes.txt", "handwriting\n")
    text(src / "phone.txt", f"0 {cx} {cy} {w} {h}\n")
    report = convert(src, out)
    written = Image.open(out / "images" / "phone.jpg")
    assert written.size == (H, W) and written.getexif().get(ORIENTATION_TAG) is None
    assert ink_box(out / "images" / "phone.jpg") == pytest.approx(shown_box, abs=1)
    assert labels(out, "phone") == approx([[0, cx, cy, w, h]])
    assert report["exif_rotated"] == ["custom/phone.jpg: EXIF orientation 6 applied; boxes read as drawn on the "
                                      "displayed image"]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_photo_boxes_in_the_stored_frame(tmp_path, orientation):
    """labelImg ignores EXIF. Its VOC size tells the frame when the turn swaps the sides (6, 8); else (3, and YOLO
    files, which record no size) custom.orientation: stored says so."""
    marker = (30, 20, 70, 35)
    for fmt in ("voc", "yolo"):
        src, out = tmp_path / fmt / "custom", tmp_path / fmt / "out"
        page(src / "phone.jpg", orientation=orientation, marker=marker)
        if fmt == "voc":
            voc(src / "phone.xml", [("handwriting", marker)], size=(W, H))
        else:
            text(src / "classes.txt", "handwriting\n")
            text(src / "phone.txt", f"0 {50 / W} {27.5 / H} {40 / W} {15 / H}\n")
        told_by_size = fmt == "voc" and orientation in (6, 8)
        convert(src, out, orientation="displayed" if told_by_size else "stored")
        dw, dh = Image.open(out / "images" / "phone.jpg").size
        _, cx, cy, w, h = labels(out, "phone")[0]
        written = ((cx - w / 2) * dw, (cy - h / 2) * dh, (cx + w / 2) * dw, (cy + h / 2) * dh)
        assert written == pytest.approx(ink_box(out / "images" / "phone.jpg"), abs=1), fmt


# ---------------------------------------------------------------- the stage

def test_stage_converts_data_custom_and_prints_the_report(project):
    src = project / "data" / "custom"
    page(src / "a.jpg")
    voc(src / "a.xml", [("handwriting", (20, 10, 120, 30)), ("printed", (0, 0, 5, 5))])
    page(src / "b.jpg")
    result = stage(project, "custom")
    out = project / "data" / "sources" / "custom"
    assert labels(out, "a") == approx([[0, 0.35, 0.2, 0.5, 0.2]])
    printed = result.stdout
    assert ("custom: 1 of 2 images (1 of 2 boxes, 1 groups) converted from data/custom (voc) to "
            "data/sources/custom") in printed
    assert "data/custom/b.jpg: no label" in printed and "data/custom/a.xml: object 2: class 'printed'" in printed
    assert json.loads((out / "report.json").read_text())["images"]["converted"] == 1

    (src / "a.xml").write_text("<annotation><object>")
    result = stage(project, "custom", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: data/custom/a.xml:1: malformed XML")
    assert labels(out, "a") == approx([[0, 0.35, 0.2, 0.5, 0.2]])  # the earlier output is untouched

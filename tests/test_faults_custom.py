"""The `custom` stage on bad input, run as `python -m stages.custom` in a copy of the project: one `error:` line
naming the file (and line, object or entry) with exit code 2 and every file as it was; or, where the input is usable
in part, exit 0 with one `warning:` line saying how many were left out and why."""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import copy_project, run, stage, write_params
from faults import refused
from hwdetect.files.tables import read_table

CMD = ["stages.custom"]
GOOD_ROW = b"0 0.5 0.5 0.4 0.2\n"


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "JPEG")
    return buffer.getvalue()


def tiff_pages(pages: int) -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("L", (64, 48), 255 - 40 * i) for i in range(pages)]
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def coco(images: list[dict], annotations: list[dict], categories: list[dict] | None = None) -> bytes:
    return json.dumps({"images": images, "annotations": annotations,
                       "categories": categories or [{"id": 1, "name": "handwriting"}]}).encode()


def coco_one(**changes: object) -> bytes:
    image = {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [4, 4, 20, 10]}
    for key, value in changes.items():
        (image if key.startswith("image.") else ann)[key.split(".")[-1]] = value
    return coco([image], [ann])


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """One project copy with an earlier, good conversion in data/sources/custom; each case its own custom.dir."""
    p = copy_project(tmp_path_factory.mktemp("faults-custom") / "project")
    build(p / "data" / "custom", {"a.jpg": jpeg(), "a.txt": GOOD_ROW, "classes.txt": b"handwriting\n"})
    stage(p, "custom")
    return p


Files = dict[str, object]  # relative path -> bytes, or a callable(folder, path) that makes it


def build(folder: Path, files: Files) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(folder, path)
        else:
            path.write_bytes(content)
    return folder


def use(project: Path, case: str, files: Files, **custom: object) -> Path:
    """data/cases/<case> filled with `files`, selected in params.yaml (with any other custom settings)."""
    folder = project / "data" / "cases" / case
    shutil.rmtree(folder, ignore_errors=True)
    build(folder, files)
    write_params(project, {"custom": {"dir": f"data/cases/{case}", "unmapped": "drop", "out_of_bounds": "clip",
                                      **custom}})
    return folder


def link_to_outside(folder: Path, path: Path) -> None:
    outside = folder.parent.parent.parent.parent / "outside.jpg"  # beside the project
    outside.write_bytes(jpeg())
    os.symlink(outside, path)


def folder_at(folder: Path, path: Path) -> None:
    path.mkdir()


YOLO = {"a.jpg": jpeg(), "classes.txt": b"handwriting\n"}
VOC_HEAD = b"<annotation><size><width>64</width><height>48</height></size>"

def cvat(*images: tuple[str, str], head: str = "") -> bytes:
    """CVAT for images 1.1: an <image> of 64 x 48 per (name, shapes)."""
    body = "".join(f'<image id="{i}" name="{name}" width="64" height="48">{shapes}</image>\n'
                   for i, (name, shapes) in enumerate(images))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n{head}<annotations>\n<version>1.1</version>\n'
            f'<meta><task><id>1</id><name>scans</name></task></meta>\n{body}</annotations>\n').encode()


def box(label: str = "handwriting", extra: str = "", coords: tuple = (4, 4, 24, 14)) -> str:
    return (f'<box label="{label}" source="manual" occluded="0" xtl="{coords[0]}" ytl="{coords[1]}" '
            f'xbr="{coords[2]}" ybr="{coords[3]}"{extra} z_order="0"></box>')


def studio(*tasks: tuple[str, list], image: str = "") -> bytes:
    """Label Studio JSON: a task per (image URL, annotations, each a list of [x, y, w, h] in percent)."""
    return json.dumps([{"id": n, "data": {"image": url}, "annotations": [
        {"id": 10 * n + k, "was_cancelled": False, "updated_at": f"2024-05-0{k + 1}T08:00:00Z", "result": [
            {"type": "rectanglelabels", "original_width": 64, "original_height": 48, "from_name": "label",
             "to_name": "image", "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                                           "rectanglelabels": ["handwriting"]}} for x, y, w, h in rects]}
        for k, rects in enumerate(annotations)]} for n, (url, annotations) in enumerate(tasks, start=1)]).encode()


ONE_TASK = studio(("/data/upload/1/3f2a9c1b-a.jpg", [[[10, 10, 40, 20]]]))
REFUSED: dict[str, tuple[Files, tuple[str, ...], dict]] = {
    "cvat video export": ({"images/a.jpg": jpeg(), "annotations.xml": cvat().replace(
        b"</annotations>", ('<track id="0" label="handwriting">' + box(extra=' frame="0"') + "</track></annotations>")
        .encode())}, ("annotations.xml", "CVAT for video 1.1", "CVAT for images 1.1"), {}),
    "cvat doctype": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box()), head=(
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'))},
        ("annotations.xml", "DOCTYPE"), {}),
    "cvat malformed": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box()))[:-30]},
                       ("annotations.xml:", "malformed XML", "CVAT for images 1.1"), {}),
    "cvat box not numbers": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box(coords=(4, "x", 24, 14))))},
                             ("annotations.xml: image id 0 (a.jpg): box 1", "needs the numbers"), {}),
    "cvat box infinite": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box(coords=(4, 4, "inf", 14))))},
                          ("annotations.xml: image id 0 (a.jpg): box 1", "finite"), {}),
    "cvat polygon broken": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(
        ("a.jpg", '<polygon label="handwriting" points="1,2;3" z_order="0"></polygon>'))},
        ("annotations.xml: image id 0 (a.jpg): polygon 1", "x,y pairs"), {}),
    "cvat box without label": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box(label="")))},
                               ("annotations.xml: image id 0 (a.jpg): box 1", "has no label"), {}),
    "cvat image without name": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("", box()))},
                                ("annotations.xml: image id 0", "has no name"), {}),
    "cvat without its images": ({"annotations.xml": cvat(("a.jpg", box()), ("b.jpg", box()))},
                                ("1 annotation file", "annotations.xml", "'Save images'"), {}),
    "cvat most images missing": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(
        ("a.jpg", box()), ("b.jpg", box()), ("c.jpg", box()))}, ("annotations.xml: 2 of 3 image entries",
                                                                  "'Save images'"), {}),
    "label studio without its images": ({"project-1-at-2024.json": ONE_TASK},
                                        ("project-1-at-2024.json", "Label Studio", "media/upload/"), {}),
    "coco without its images": ({"result.json": coco_one()},
                                ("result.json", "'Save images'", "Label Studio: its COCO zip holds no images"), {}),
    "label studio invalid json": ({"a.jpg": jpeg(), "p.json": b'[{"id": 1,\n "data": }]'},
                                  ("p.json:2", "invalid JSON"), {}),
    "label studio entry not a task": ({"a.jpg": jpeg(), "p.json": b"[1, 2]"}, ("p.json: entry 1", "not a task"), {}),
    "label studio x not a number": ({"a.jpg": jpeg(), "p.json": ONE_TASK.replace(b'"x": 10', b'"x": "10"')},
                                    ("p.json: task 1: annotation 10", "x must be a finite number"), {}),
    "label studio labels not a list": ({"a.jpg": jpeg(), "p.json": ONE_TASK.replace(
        b'["handwriting"]', b'"handwriting"')}, ("p.json: task 1", "rectanglelabels must be a list"), {}),
    "label studio data without image": ({"a.jpg": jpeg(), "p.json": ONE_TASK.replace(b'"image"', b'"text"')
                                         .replace(b"3f2a9c1b-a.jpg", b"hello")},
                                        ("p.json: task 1", "no image URL"), {}),
    "label studio result not a list": ({"a.jpg": jpeg(), "p.json": ONE_TASK.replace(b'"result": [', b'"result": [[')
                                        .replace(b'}]}]}]', b'}]]}]}]')}, ("p.json: task 1", "result must be a list"),
                                       {}),
    "label studio most images missing": ({"a.jpg": jpeg(), "p.json": studio(
        ("/data/upload/1/a.jpg", [[[1, 1, 5, 5]]]), ("/data/upload/1/b.jpg", [[[1, 1, 5, 5]]]),
        ("/data/upload/1/c.jpg", [[[1, 1, 5, 5]]]))}, ("p.json: 2 of 3 image entries", "media/upload/"), {}),
    "missing folder": ({}, ("data/cases/nowhere", "not found"), {"dir": "data/cases/nowhere"}),
    "no images": ({"a.txt": GOOD_ROW}, ("data/cases/no images", "no images"), {}),
    "no annotations": ({"a.jpg": jpeg()}, ("data/cases/no annotations", "no annotation files"), {}),
    "mixed formats": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "b.xml": VOC_HEAD + b"</annotation>"},
                      ("more than one format",), {}),
    "classes.txt latin-1": ({**YOLO, "classes.txt": "écriture\n".encode("latin-1"), "a.txt": GOOD_ROW},
                            ("classes.txt:1", "not UTF-8", "save it as UTF-8"), {}),
    "label latin-1": ({**YOLO, "a.txt": "0 0.5 0.5 0.4 0.2 é\n".encode("latin-1")},
                      ("a.txt:1", "not UTF-8", "save it as UTF-8"), {}),
    "data.yaml latin-1": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "data.yaml": "names: [é]\n".encode("latin-1")},
                          ("data.yaml:1", "not UTF-8"), {}),
    "data.yaml names keys not ids": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "data.yaml": b"names: {hw: handwriting}\n"},
                                     ("data.yaml", "names: key 'hw' is not a class id"), {}),
    "data.yaml names float keys": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "data.yaml": b"names: {0.5: handwriting}\n"},
                                   ("data.yaml", "names: key 0.5"), {}),
    "data.yaml names a text": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "data.yaml": b"names: handwriting\n"},
                               ("data.yaml", "needs `names:`"), {}),
    "data.yaml not yaml": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW, "data.yaml": b"names: [a\n"},
                           ("data.yaml", "not valid YAML"), {}),
    "no classes file": ({"a.jpg": jpeg(), "a.txt": GOOD_ROW}, ("a.txt", "no classes.txt"), {}),
    "yolo row too short": ({**YOLO, "a.txt": GOOD_ROW + b"0 0.5 0.5\n"}, ("a.txt:2", "expected `class cx cy w h`"),
                           {}),
    "yolo class id out of range": ({**YOLO, "a.txt": b"7 0.5 0.5 0.4 0.2\n"}, ("a.txt:1", "class id 7"), {}),
    "yolo nan": ({**YOLO, "a.txt": b"0 nan 0.5 0.4 0.2\n"}, ("a.txt:1", "finite"), {}),
    "yolo huge number": ({**YOLO, "a.txt": b"0 1e999 0.5 0.4 0.2\n"}, ("a.txt:1", "finite"), {}),
    "yolo class id not a number": ({**YOLO, "a.txt": b"hw 0.5 0.5 0.4 0.2\n"}, ("a.txt:1",), {}),
    "voc malformed": ({"a.jpg": jpeg(), "a.xml": VOC_HEAD + b"<object>\n</annotation>"},
                      ("a.xml:2", "malformed XML"), {}),
    "voc truncated": ({"a.jpg": jpeg(), "a.xml": VOC_HEAD[:30]}, ("a.xml:1", "malformed XML"), {}),
    "voc wrong root": ({"a.jpg": jpeg(), "a.xml": b"<form/>"}, ("a.xml", "not a Pascal VOC file"), {}),
    "voc unknown encoding": ({"a.jpg": jpeg(), "a.xml": b'<?xml version="1.0" encoding="klingon"?><annotation/>'},
                             ("a.xml", "unreadable XML"), {}),
    "voc bndbox not numbers": ({"a.jpg": jpeg(), "a.xml": VOC_HEAD + b"<object><name>handwriting</name><bndbox>"
                                b"<xmin>a</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
                                b"</annotation>"}, ("a.xml: object 1", "<bndbox> needs numbers"), {}),
    "voc bndbox infinite": ({"a.jpg": jpeg(), "a.xml": VOC_HEAD + b"<object><name>handwriting</name><bndbox>"
                             b"<xmin>1</xmin><ymin>1</ymin><xmax>1e999</xmax><ymax>5</ymax></bndbox></object>"
                             b"</annotation>"}, ("a.xml: object 1", "finite"), {}),
    "voc object without name": ({"a.jpg": jpeg(), "a.xml": VOC_HEAD + b"<object><bndbox/></object></annotation>"},
                                ("a.xml: object 1", "needs <name>"), {}),
    "coco invalid json": ({"a.jpg": jpeg(), "ann.json": b'{"images": [\n  {"id": 1},\n]}'},
                          ("ann.json:3", "invalid JSON"), {}),
    "coco latin-1": ({"a.jpg": jpeg(), "ann.json": '{"images": "é"}'.encode("latin-1")},
                     ("ann.json", "not UTF-8"), {}),
    "coco not coco": ({"a.jpg": jpeg(), "ann.json": b'{"images": {}}'}, ("ann.json", "not a COCO file"), {}),
    "coco image id list": ({"a.jpg": jpeg(), "ann.json": coco_one(**{"image.id": [1]})},
                           ("ann.json: image id [1]", "id must be a whole number"), {}),
    "coco image id dict": ({"a.jpg": jpeg(), "ann.json": coco_one(**{"image.id": {"n": 1}})},
                           ("ann.json: image id {'n': 1}", "id must be a whole number"), {}),
    "coco image_id list": ({"a.jpg": jpeg(), "ann.json": coco_one(image_id=[1])},
                           ("ann.json: annotation id 1", "image_id must be a whole number"), {}),
    "coco category_id dict": ({"a.jpg": jpeg(), "ann.json": coco_one(category_id={"id": 1})},
                              ("ann.json: annotation id 1", "category_id must be a whole number"), {}),
    "coco category id list": ({"a.jpg": jpeg(), "ann.json": coco([{"id": 1, "file_name": "a.jpg"}], [],
                                                                 [{"id": [1], "name": "handwriting"}])},
                              ("ann.json: category", "id must be a whole number"), {}),
    "coco image listed twice": ({"a.jpg": jpeg(), "ann.json": coco([{"id": 1, "file_name": "a.jpg"}] * 2, [])},
                                ("ann.json: image id 1", "listed twice"), {}),
    "coco bbox wrong": ({"a.jpg": jpeg(), "ann.json": coco_one(bbox=[1, 2])}, ("annotation id 1", "bbox must be"), {}),
    "coco bbox infinite": ({"a.jpg": jpeg(), "ann.json": coco_one().replace(b"[4, 4, 20, 10]", b"[4, 4, 1e400, 1]")},
                           ("annotation id 1", "finite"), {}),
    "coco number of 5000 digits": ({"a.jpg": jpeg(), "ann.json": coco_one().replace(b'"id": 1,', b'"id": ' +
                                                                                   b"9" * 5000 + b",", 1)},
                                   ("ann.json", "unreadable JSON"), {}),
    "coco nested too deep": ({"a.jpg": jpeg(), "ann.json": b"[" * 200_000 + b"]" * 200_000},
                             ("ann.json", "unreadable JSON"), {}),
    "coco image_id not listed": ({"a.jpg": jpeg(), "ann.json": coco_one(image_id=7)},
                                 ("annotation id 1", "image_id 7 is not listed"), {}),
    "coco path traversal": ({"a.jpg": jpeg(), "ann.json": coco_one(**{"image.file_name": "../../../params.yaml"})},
                            ("ann.json", "1 of 1 image entries find no image file"), {}),
    "zero-byte image only": ({**YOLO, "a.jpg": b"", "a.txt": GOOD_ROW},
                             ("no image could be converted", "a.jpg"), {}),
    "only image links outside": ({"classes.txt": b"handwriting\n", "a.jpg": link_to_outside, "a.txt": GOOD_ROW},
                                 ("no images", "a.jpg: a link to"), {}),
    "only label is a folder": ({**YOLO, "a.txt": folder_at, "b.txt": GOOD_ROW},
                               ("no image could be converted", "a.jpg: no label"), {}),
    "unmapped class with unmapped error": ({**YOLO, "classes.txt": b"stamp\n", "a.txt": GOOD_ROW},
                                           ("a.txt:1", "class 'stamp' is not in custom.classes"),
                                           {"unmapped": "error"}),
    "box outside with out_of_bounds error": ({**YOLO, "a.txt": b"0 0.9 0.5 0.4 0.2\n"},
                                             ("a.txt:1", "reaches outside"), {"out_of_bounds": "error"}),
    "no box maps to handwriting": ({**YOLO, "classes.txt": b"stamp\n", "a.txt": GOOD_ROW},
                                   ("no box maps to handwriting", "stamp"), {}),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_custom_data_is_refused_with_one_line(project, case):
    files, names, custom = REFUSED[case]
    folder = use(project, case, files, **custom)
    refused(CMD, project, *names, watch=(folder,))


def warned(project: Path) -> tuple[str, str]:
    """Run the stage; it must succeed with exactly one `warning:` line, returned with all it printed."""
    result = run([sys.executable, "-m", *CMD], project, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Traceback" not in out, out[-3000:]
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, out[-3000:]
    return warnings[0], out


def report(project: Path) -> dict:
    return json.loads((project / "data" / "sources" / "custom" / "report.json").read_text())


GOOD = {**YOLO, "a.txt": GOOD_ROW}
HALF_MISSING = [(f"p{n}.jpg", "".join(box(coords=(1 + k, 1, 20 + k, 9)) for k in range(count))) for n, count in
                enumerate([3, 3, 3, 3, 3, 5, 5, 5, 5, 4])]  # 39 boxes, the last five pages' 24 without their image
VOC_200 = {f"p{n}.xml": VOC_HEAD + b"".join(b"<object><name>handwriting</name><bndbox><xmin>%d</xmin><ymin>2</ymin>"
                                            b"<xmax>%d</xmax><ymax>9</ymax></bndbox></object>" % (k, k + 20)
                                            for k in range(1, 21)) + b"</annotation>" for n in range(10)}
COUNTED: dict[str, tuple[Files, tuple[str, ...]]] = {
    "cvat half its images": ({**{f"images/p{n}.jpg": jpeg((64 + n, 48)) for n in range(5)},
                              "annotations.xml": cvat(*HALF_MISSING).replace(b'width="64"', b"")},
                             ("24 of 39 boxes dropped (24 on missing images)", "5 labels without images")),
    "voc of 200 boxes, one image missing": ({**VOC_200, **{f"p{n}.jpg": jpeg() for n in range(9)}},
                                            ("20 of 200 boxes dropped (20 on missing images)",)),
    "cvat rotated box": ({"images/a.jpg": jpeg(), "annotations.xml": cvat(("a.jpg", box() + box(
        extra=' rotation="30"')))}, ("1 of 2 boxes dropped (1 rotated)", "1 rotated boxes")),
    "label studio older annotation": ({"images/a.jpg": jpeg(), "p.json": studio(
        ("/data/upload/1/3f2a9c1b-a.jpg", [[[10, 10, 40, 20]], [[10, 10, 40, 20], [50, 50, 10, 10]]]))},
        ("1 of 3 boxes dropped (1 older annotation)", "1 several annotations")),
    "label studio unannotated task": ({"a.jpg": jpeg(), "b.jpg": jpeg((60, 40)), "p.json": studio(
        ("/data/upload/1/a.jpg", [[[10, 10, 40, 20]]]), ("/data/upload/1/b.jpg", []))},
        ("1 of 2 images not used", "1 unannotated tasks", "1 images without labels")),
    "multi-page tiff": ({**GOOD, "t.tif": tiff_pages(3), "t.txt": GOOD_ROW}, ("1 multi page images",)),
    "image without label": ({**GOOD, "b.jpg": jpeg()}, ("1 of 2 images not used", "images without labels")),
    "label without image": ({**GOOD, "b.txt": GOOD_ROW}, ("labels without images",)),
    "zero-byte image": ({**GOOD, "b.jpg": b"", "b.txt": GOOD_ROW}, ("1 of 2 images not used", "unreadable images")),
    "degenerate box": ({**YOLO, "a.txt": GOOD_ROW + b"0 0.5 0.5 0 0.2\n"}, ("1 of 2 boxes dropped (1 zero area)",)),
    "duplicate boxes": ({**YOLO, "a.txt": GOOD_ROW * 3}, ("2 of 3 boxes dropped (2 duplicate)",)),
    "huge box clipped": ({**YOLO, "a.txt": GOOD_ROW + b"0 0.5 0.5 1e300 0.2\n"}, ("boxes outside image",)),
    "unmapped class dropped": ({**YOLO, "classes.txt": b"handwriting\nstamp\n", "a.txt": GOOD_ROW +
                                b"1 0.5 0.5 0.2 0.2\n"}, ("1 unmapped", "unmapped classes")),
    "same name in two folders": ({"classes.txt": b"handwriting\n", "x/p.jpg": jpeg((64, 48)), "x/p.txt": GOOD_ROW,
                                  "y/p.jpg": jpeg((60, 40)), "y/p.txt": GOOD_ROW}, ("duplicate names",)),
    "label is a folder": ({**GOOD, "b.jpg": jpeg(), "b.txt": folder_at}, ("images without labels",)),
    "link outside the folder": ({**GOOD, "b.jpg": link_to_outside, "b.txt": GOOD_ROW}, ("links outside",)),
    "coco entry without its image": ({"a.jpg": jpeg(), "ann.json": coco(
        [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "../../../../etc/passwd"},
         {"id": 3, "file_name": "b.jpg"}], []), "b.jpg": jpeg()}, ("labels without images",)),
}


@pytest.mark.parametrize("case", list(COUNTED))
def test_partly_usable_data_is_counted_in_one_warning_line(project, case):
    files, words = COUNTED[case]
    use(project, case, files)
    line, _ = warned(project)
    for word in words:
        assert word in line, line
    assert "data/sources/custom/report.json" in line and f"data/cases/{case}" in line
    boxes = report(project)["boxes"]  # every box of the source converted or dropped for one reason
    assert boxes["source"] == boxes["converted"] + sum(v for k, v in boxes.items() if k.startswith("dropped_")), boxes


ODD_NAMES: dict[str, bytes] = {"not UTF-8": b"scan-\xff", "comma": b"scan,1", "quotes": b"scan \"1\" 'x'",
                               "newline": b"scan\n1", "BOM and spaces": b"\xef\xbb\xbf scan  1 "}


@pytest.mark.parametrize("case", list(ODD_NAMES))
def test_any_file_name_is_carried_through(project, case):
    """Image and folder names with any bytes: converted, with the folder as the group in groups.csv."""
    stem = ODD_NAMES[case]
    folder = use(project, case, {"classes.txt": b"handwriting\n"})
    sub = os.path.join(os.fsencode(folder), stem)
    os.mkdir(sub)
    for suffix, data in ((b".jpg", jpeg()), (b".txt", GOOD_ROW)):
        with open(os.path.join(sub, stem + suffix), "wb") as f:
            f.write(data)
    result = run([sys.executable, "-m", *CMD], project, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
    out = project / "data" / "sources" / "custom"
    rows = read_table(out / "groups.csv")
    assert [row["group"] for row in rows] == [os.fsdecode(stem)]
    image = out / "images" / rows[0]["image"]
    assert image.read_bytes() == jpeg()
    assert (out / "labels" / f"{image.stem}.txt").read_text() == "0 0.500000 0.500000 0.400000 0.200000\n"
    assert report(project)["images"]["converted"] == 1


def test_groups_whose_names_hold_commas_stay_apart_through_source_and_split(project):
    """`Smith, John/`, `Smith, Jane/` and `Doe, "JJ"/` (two pages each): every page reaches the split, in three groups
    (equal groups and equal ratios: one group per split, whatever the shuffle)."""
    writers = ["Smith, John", "Smith, Jane", 'Doe, "JJ"']
    files: Files = {"classes.txt": b"handwriting\n"}
    for w, writer in enumerate(writers):
        for n in range(2):
            files[f"{writer}/page{n}.jpg"] = jpeg((64 + 2 * w + n, 48))
            files[f"{writer}/page{n}.txt"] = GOOD_ROW
    use(project, "commas", files)
    third = 1 / 3
    write_params(project, {"data": {"sources": ["custom"]},
                           "split": {"ratios": {"train": third, "val": third, "test": 1 - 2 * third}}})
    try:
        stage(project, "custom")
        stage(project, "source", "custom")
        stage(project, "split")
    finally:
        write_params(project, {"data": {"sources": ["synthetic"]},
                               "split": {"ratios": {"train": 0.6, "val": 0.2, "test": 0.2}}})
    rows = read_table(project / "data" / "split" / "manifest.csv")
    assert len(rows) == 6 and sorted({row["group"] for row in rows}) == sorted(writers)
    assert sorted(row["split"] for row in rows) == ["test", "test", "train", "train", "val", "val"]


def test_the_same_export_twice_is_a_warning_and_split_spreads_it_page_by_page(project):
    """One CVAT export unzipped twice, into two folders, as the only source: the custom stage lists the copies, and
    split, given too few groups to fill val and test, splits the pages one by one (the copies of a page together)
    with a warning rather than stopping."""
    export = {f"images/p{n}.jpg": jpeg((64 + n, 48)) for n in range(4)}
    export["annotations.xml"] = cvat(*[(f"p{n}.jpg", box()) for n in range(4)]).replace(b'width="64"', b"")
    use(project, "twice", {f"{folder}/{name}": data for folder in ("task", "task (1)")
                           for name, data in export.items()})
    write_params(project, {"data": {"sources": ["custom"]}})
    try:
        line, _ = warned(project)
        assert "4 duplicate images, 1 duplicate exports" in line, line
        assert report(project)["problems"]["duplicate_exports"] == [
            "data/cases/twice/task, data/cases/twice/task (1): the same 4 images in each, so the same export 2 times; "
            "all kept, in one group; delete all copies but one"]
        stage(project, "source", "custom")
        result = run([sys.executable, "-m", "stages.split"], project, check=False)
    finally:
        write_params(project, {"data": {"sources": ["synthetic"]}})
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "error:" not in out, out[-2000:]
    assert [line for line in out.splitlines() if line.startswith("warning:")] == [
        "warning: split: source custom: its 8 images form 1 group(s), too few to give every split some, so its pages "
        "were split one by one (identical pages kept together) and pages of one document may be in more than one "
        "split; put each document or writer in a sub-folder of its own in data/custom (README: Your own annotated "
        "documents)"]
    rows = read_table(project / "data" / "split" / "manifest.csv")
    by_page: dict[str, set[str]] = {}
    for row in rows:
        by_page.setdefault(row["image"].split("__")[-1], set()).add(row["split"])
    assert len(rows) == 8 and all(len(splits) == 1 for splits in by_page.values()), rows
    assert {row["split"] for row in rows} == {"train", "val", "test"}

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

REFUSED: dict[str, tuple[Files, tuple[str, ...], dict]] = {
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
COUNTED: dict[str, tuple[Files, tuple[str, ...]]] = {
    "multi-page tiff": ({**GOOD, "t.tif": tiff_pages(3), "t.txt": GOOD_ROW}, ("1 multi page images",)),
    "image without label": ({**GOOD, "b.jpg": jpeg()}, ("1 of 2 images not used", "images without labels")),
    "label without image": ({**GOOD, "b.txt": GOOD_ROW}, ("labels without images",)),
    "zero-byte image": ({**GOOD, "b.jpg": b"", "b.txt": GOOD_ROW}, ("1 of 2 images not used", "unreadable images")),
    "degenerate box": ({**YOLO, "a.txt": GOOD_ROW + b"0 0.5 0.5 0 0.2\n"}, ("1 boxes dropped (1 zero area)",)),
    "duplicate boxes": ({**YOLO, "a.txt": GOOD_ROW * 3}, ("2 boxes dropped (2 duplicate)",)),
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

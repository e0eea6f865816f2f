"""The annotation and form parsers, fuzzed: whatever bytes or near-valid documents they are given, they return
normally or raise the project's one-line error (UserError; Skip for an IAM form, which the summary counts) and
nothing else."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwdetect.cli import UserError
from hwdetect.files.yolo_labels import read_boxes
from hwdetect.sources.custom.coco import read_coco
from hwdetect.sources.custom.cvat import read_cvat
from hwdetect.sources.custom.formats import YoloNames, kind_of, read_voc, read_yolo
from hwdetect.sources.custom.label_studio import read_label_studio
from hwdetect.sources.iam.forms import Skip, parse_form

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORK = Path(tempfile.mkdtemp(prefix="fuzz-parsers-"))

# ---------------------------------------------------------------- strategies

ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "utf-16")
NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1, 10**400 // 10**390, 1e308, -1e308]))
NUMBER_TEXT = st.one_of(NUMBERS.map(str), st.sampled_from(["nan", "inf", "-inf", "1e999", "0x10", "1_000", "", " ",
                                                           "9" * 5000, "½", "٣", "1,5", "--1"]), st.text(max_size=8))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=12))
JSON_ANY = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)
ODD_VALUE = st.one_of(JSON_ANY, NUMBERS.filter(lambda v: not isinstance(v, float) or math.isfinite(v)),
                      st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def encoded(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Text saved in one of several encodings, sometimes with a byte order mark or cut short."""
    def save(t: str, encoding: str, cut: int | None) -> bytes:
        data = t.encode(encoding, errors="surrogatepass" if encoding.startswith("utf-8") else "replace")
        return data[:cut] if cut is not None else data
    return st.builds(save, text, st.sampled_from(ENCODINGS), st.none() | st.integers(0, 200))


def deep(depth: int, open_: str, close: str) -> str:
    return open_ * depth + close * depth


# ---------------------------------------------------------------- the property

def one_line_or_nothing(call: Callable[[], object], allowed: tuple[type[Exception], ...] = (UserError,)) -> None:
    """`call` returns, or raises one of `allowed` with a one-line message; any other exception fails the test."""
    try:
        call()
    except allowed as err:
        text = str(err)
        assert text and "\n" not in text and "\r" not in text, repr(text)


def write(name: str, data: bytes) -> Path:
    path = WORK / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- YOLO labels and class names

YOLO_ROW = st.lists(NUMBER_TEXT, min_size=0, max_size=9).map(" ".join)
YOLO_TEXT = st.lists(st.one_of(YOLO_ROW, st.text(max_size=30)), max_size=6).map("\n".join)


@FUZZ
@given(label=st.one_of(st.binary(max_size=300), encoded(YOLO_TEXT)), names=st.one_of(
    st.binary(max_size=100), encoded(st.lists(st.text(max_size=10), max_size=4).map("\n".join))))
def test_yolo_label_and_classes_txt(label, names):
    folder = WORK / "yolo"
    write("yolo/classes.txt", names)
    path = write("yolo/a.txt", label)
    one_line_or_nothing(lambda: read_yolo(path, folder, YoloNames(folder)))
    one_line_or_nothing(lambda: read_boxes(path))


DATA_YAML = st.one_of(
    st.builds(lambda names: json.dumps({"names": names}), ODD_VALUE),  # JSON is YAML
    st.builds(lambda keys: "names:\n" + "".join(f"  {k}: hw\n" for k in keys),
              st.lists(st.one_of(st.integers(-5, 5).map(str), st.sampled_from(["a", "1.5", "[1]", "{x: 1}", "null",
                                                                                "true", "'2'", "~", "0x1"])),
                       max_size=4)),
    st.builds(lambda d: deep(d, "[", "]"), st.integers(1, 3000)).map(lambda s: f"names: {s}"),
    st.text(max_size=60))


@FUZZ
@given(data=st.one_of(encoded(DATA_YAML), st.binary(max_size=100)), rows=encoded(YOLO_TEXT))
def test_yolo_with_data_yaml(data, rows):
    folder = WORK / "yaml"
    write("yaml/data.yaml", data)
    path = write("yaml/a.txt", rows)
    one_line_or_nothing(lambda: read_yolo(path, folder, YoloNames(folder)))


# ---------------------------------------------------------------- Pascal VOC

def voc_document(name: str, size: list[str], box: list[str], extra: str, declaration: str) -> str:
    width, height = (size + ["", ""])[:2]
    tags = "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box))
    return (f"{declaration}<annotation><size><width>{width}</width><height>{height}</height></size>"
            f"<object><name>{name}</name><bndbox>{tags}</bndbox></object>{extra}</annotation>")


XML_TEXT = st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=12)
VOC = st.builds(voc_document, XML_TEXT, st.lists(NUMBER_TEXT.map(lambda t: t.replace("<", "").replace("&", "")),
                                                 max_size=2),
                st.lists(NUMBER_TEXT.map(lambda t: t.replace("<", "").replace("&", "")), max_size=5),
                st.sampled_from(["", "<object/>", "<object><name>x</name></object>", deep(2000, "<a>", "</a>"),
                                 "<!-- c -->", "&undefined;", "<![CDATA[x]]>"]),
                st.sampled_from(["", '<?xml version="1.0" encoding="latin-1"?>', '<?xml version="1.0"?>',
                                 '<?xml version="1.0" encoding="klingon"?>', '<!DOCTYPE a [<!ENTITY e "x">]>',
                                 '<?xml version="1.0" encoding="utf-16"?>']))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), encoded(VOC), encoded(st.text(max_size=80))))
def test_pascal_voc(data):
    path = write("voc/a.xml", data)
    one_line_or_nothing(lambda: read_voc(path, WORK / "voc"))


# ---------------------------------------------------------------- COCO

def coco_document(image_id: object, file_name: object, width: object, ann: dict, category_id: object,
                  drop: str | None) -> dict:
    doc = {"images": [{"id": image_id, "file_name": file_name, "width": width, "height": 10}],
           "annotations": [{"id": 1, "image_id": image_id, "category_id": category_id, "bbox": [1, 1, 2, 2],
                            **ann}],
           "categories": [{"id": category_id, "name": "handwriting"}]}
    if drop:
        section, _, key = drop.partition(".")
        if key:
            doc[section][0].pop(key, None)
        else:
            doc.pop(section)
    return doc


COCO = st.builds(
    coco_document, ODD_VALUE, st.one_of(st.sampled_from(["a.jpg", "../a.jpg", "/etc/passwd", "x" * 5000, "a\x00.jpg",
                                                         "C:\\a.jpg", "images/1c8d6a8b-a.jpg"]), ODD_VALUE),
    ODD_VALUE, st.dictionaries(st.sampled_from(["image_id", "category_id", "bbox", "id"]), ODD_VALUE, max_size=2),
    st.one_of(st.just(1), ODD_VALUE),
    st.sampled_from([None, "images", "annotations", "categories", "images.id", "images.file_name",
                     "annotations.bbox", "annotations.image_id", "categories.name"]))


def json_text(doc: object) -> str:
    return json.dumps(doc)  # NaN and Infinity become the bare words JSON readers meet in the wild


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), encoded(COCO.map(json_text)), encoded(JSON_ANY.map(json_text)),
                      st.builds(lambda d: deep(d, "[", "]"), st.integers(1, 100_000)).map(str.encode),
                      st.just(b'{"images": [{"id": ' + b"9" * 5000 + b"}]}")))
def test_coco(data):
    write("coco/a.jpg", b"")
    path = write("coco/ann.json", data)
    one_line_or_nothing(lambda: read_coco(path, WORK / "coco"))


# ---------------------------------------------------------------- CVAT for images 1.1

CVAT_VALUE = NUMBER_TEXT.map(lambda t: t.replace("<", "").replace("&", "").replace('"', ""))


def cvat_document(image: dict[str, str], shape: str, attrs: dict[str, str], extra: str, declaration: str) -> str:
    image_attrs = "".join(f' {k}="{v}"' for k, v in {"id": "0", "name": "a.jpg", "width": "10", "height": "10",
                                                      **image}.items())
    shape_attrs = "".join(f' {k}="{v}"' for k, v in {"label": "handwriting", "xtl": "1", "ytl": "1", "xbr": "5",
                                                      "ybr": "5", "points": "1,1;5,1;5,5", **attrs}.items())
    return (f"{declaration}<annotations><version>1.1</version><meta/><image{image_attrs}><{shape}{shape_attrs}/>"
            f"</image>{extra}</annotations>")


CVAT = st.builds(cvat_document, st.dictionaries(st.sampled_from(["id", "name", "width", "height", "subset"]),
                                                CVAT_VALUE, max_size=3),
                 st.sampled_from(["box", "polygon", "points", "polyline", "tag", "mask", "ellipse"]),
                 st.dictionaries(st.sampled_from(["label", "xtl", "ytl", "xbr", "ybr", "rotation", "points"]),
                                 CVAT_VALUE, max_size=4),
                 st.sampled_from(["", "<track id=\"0\"/>", "<image/>", deep(2000, "<a>", "</a>"), "&undefined;"]),
                 st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>', '<!DOCTYPE a [<!ENTITY e "x">]>',
                                  '<?xml version="1.0" encoding="klingon"?>']))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), encoded(CVAT), encoded(st.text(max_size=80))))
def test_cvat_for_images(data):
    write("cvat/images/a.jpg", b"")
    path = write("cvat/annotations.xml", data)
    one_line_or_nothing(lambda: read_cvat(path, WORK / "cvat"))
    assert kind_of(path) in ("cvat", "voc")


# ---------------------------------------------------------------- Label Studio JSON and JSON-MIN

def studio_document(task: dict, annotation: dict, value: dict, minimal: bool) -> list:
    value = {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "rectanglelabels": ["handwriting"], **value}
    if minimal:
        return [{"image": "/data/upload/1/1c8d6a8b-a.jpg", "id": 1, "label": [value], **task}]
    ann = {"id": 1, "was_cancelled": False, "updated_at": "2024", "result": [
        {"type": "rectanglelabels", "original_width": 10, "original_height": 10, "value": value}], **annotation}
    return [{"id": 1, "data": {"image": "/data/local-files/?d=a.jpg"}, "annotations": [ann], **task}]


STUDIO = st.builds(
    studio_document,
    st.dictionaries(st.sampled_from(["id", "data", "annotations", "image", "label", "completions"]), ODD_VALUE,
                    max_size=2),
    st.dictionaries(st.sampled_from(["id", "was_cancelled", "updated_at", "result"]), ODD_VALUE, max_size=2),
    st.dictionaries(st.sampled_from(["x", "y", "width", "height", "rotation", "rectanglelabels", "polygonlabels",
                                     "original_width"]), ODD_VALUE, max_size=3),
    st.booleans())


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), encoded(STUDIO.map(json_text)), encoded(JSON_ANY.map(json_text)),
                      st.builds(lambda d: deep(d, "[", "]"), st.integers(1, 100_000)).map(str.encode)))
def test_label_studio(data):
    write("studio/a.jpg", b"")
    path = write("studio/export.json", data)
    one_line_or_nothing(lambda: read_label_studio(path, WORK / "studio"))


# ---------------------------------------------------------------- IAM form XML

def form_document(form_id: str, attrs: dict[str, str], cmp: dict[str, str], root: str, declaration: str) -> str:
    attributes = "".join(f' {k}="{v}"' for k, v in {"id": form_id, "writer-id": "000", "width": "100",
                                                      "height": "100", **attrs}.items())
    cmp_attrs = "".join(f' {k}="{v}"' for k, v in {"x": "1", "y": "1", "width": "5", "height": "5", **cmp}.items())
    return (f"{declaration}<{root}{attributes}><handwritten-part><line id=\"{form_id}-00\" text=\"x\">"
            f"<word id=\"{form_id}-00-00\"><cmp{cmp_attrs}/></word></line></handwritten-part></{root}>")


ATTR_VALUE = NUMBER_TEXT.map(lambda t: t.replace("<", "").replace("&", "").replace('"', ""))
FORM = st.builds(form_document, st.just("a01-000"),
                 st.dictionaries(st.sampled_from(["id", "writer-id", "width", "height"]), ATTR_VALUE, max_size=3),
                 st.dictionaries(st.sampled_from(["x", "y", "width", "height"]), ATTR_VALUE, max_size=3),
                 st.sampled_from(["form", "form", "Form", "annotation"]),
                 st.sampled_from(["", '<?xml version="1.0" encoding="ISO-8859-1"?>\n',
                                  '<?xml version="1.0" encoding="nope"?>']))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), encoded(FORM), encoded(st.text(max_size=80)),
                      st.builds(lambda d: deep(d, "<a>", "</a>"), st.integers(1, 20_000)).map(str.encode)))
def test_iam_form_xml(data):
    one_line_or_nothing(lambda: parse_form(data, "a01-000"), allowed=(Skip,))


# ---------------------------------------------------------------- crashes found, kept as examples

@pytest.mark.parametrize("names", ["names: {a: hw}", "names: {1.5: hw}", "names: hw", "names: {[1]: hw}", "- 1"])
def test_data_yaml_names_that_are_not_ids_are_one_line(names):
    write("examples/data.yaml", names.encode())
    path = write("examples/a.txt", b"0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(UserError, match=r"data.yaml: (names: key|needs `names:`|not valid YAML)"):
        read_yolo(path, WORK / "examples", YoloNames(WORK / "examples"))


@pytest.mark.parametrize("field", ["id", "image_id", "category_id"])
@pytest.mark.parametrize("value", [[1], {"a": 1}, 1.5])
def test_coco_ids_that_are_lists_or_mappings_are_one_line(field, value):
    doc = coco_document(1, "a.jpg", 10, {}, 1, None)
    (doc["images"][0] if field == "id" else doc["annotations"][0])[field] = value
    write("coco/a.jpg", b"")
    path = write("coco/ids.json", json.dumps(doc).encode())
    with pytest.raises(UserError, match=rf"{field} must be a whole number"):
        read_coco(path, WORK / "coco")

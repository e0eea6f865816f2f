"""Readers of the annotation formats the `custom` stage accepts, into one form: a Label of named boxes per image.

- yolo: `<stem>.txt` with `class cx cy w h` per line (fractions of the image; polygons `class x1 y1 x2 y2 ...` are
  reduced to their bounding box) and class names from the nearest classes.txt (labelImg), obj.names (CVAT) or
  data.yaml `names` (Roboflow, Ultralytics) in the label's folder or above.
- voc: one Pascal VOC `<stem>.xml` per image (labelImg's default), `<object><name><bndbox>` in pixels.
- coco: `*.json` with `images`, `annotations` and `categories` (CVAT, Label Studio, Roboflow); see coco.py.
- cvat: CVAT for images 1.1, `annotations.xml` (CVAT's own format); see cvat.py.
- label-studio: Label Studio's JSON and JSON-MIN exports, `*.json` holding a list of tasks; see label_studio.py.
An image and a YOLO/VOC label pair up when their paths, without the extension and without the folders that only
sort files by kind (images/, labels/, annotations/, JPEGImages/), are the same. A file that cannot be read stops
the stage with one line naming it (and the line, object or annotation id).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from hwdetect.cli import UserError, one_line
from hwdetect.config.registry import CUSTOM_FORMATS as FORMATS
from hwdetect.files.walk import display, read_text
from hwdetect.files.yolo_labels import corners, parse_line
from hwdetect.sources.custom.coco import read_coco
from hwdetect.sources.custom.cvat import parse_xml, read_cvat
from hwdetect.sources.custom.label_studio import read_label_studio
from hwdetect.sources.custom.labels import Box, Label, finite, pair_key, positive_int
from hwdetect.sources.images import IMAGE_SUFFIXES

NAMES_FILES = ("classes.txt", "obj.names", "data.yaml")
SUFFIXES = {"yolo": ".txt", "voc": ".xml", "cvat": ".xml", "coco": ".json", "label-studio": ".json"}
# Files of the exports that are not labels: readmes, class lists, CVAT's image lists (train.txt), Label Studio's
# notes.json beside its YOLO export.
NOT_LABELS = re.compile(r"(readme|license).*\.\w+|(classes|obj|train|valid|val|test)\.(txt|names)|notes\.json",
                        re.IGNORECASE)


def kind_of(path: Path) -> str | None:
    """The format an annotation file is written in, by its suffix and, for XML and JSON, its first element or
    character: CVAT's annotations.xml against a VOC file, a Label Studio list of tasks against a COCO object."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "yolo"
    if suffix == ".xml":
        try:
            with path.open("rb") as f:
                root = next((element.tag for _, element in ET.iterparse(f, events=("start",))), None)
        except (ET.ParseError, OSError, ValueError, LookupError, RecursionError):
            root = None  # unreadable: the VOC reader says why
        return "cvat" if root == "annotations" else "voc"
    if suffix == ".json":
        try:
            with path.open("rb") as f:
                head = f.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
        except OSError:
            head = b""
        return "label-studio" if head.startswith(b"[") else "coco"
    return None


def annotation_files(files: list[Path], fmt: str) -> list[Path]:
    return [f for f in files if f.suffix.lower() == SUFFIXES[fmt] and not NOT_LABELS.fullmatch(f.name)
            and kind_of(f) == fmt]


def detect_format(files: list[Path], root: Path) -> str:
    found = [fmt for fmt in FORMATS if annotation_files(files, fmt)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UserError(f"{display(root)}: no annotation files (.txt, .xml or .json) found; put your labels next to "
                        f"the images (see README, 'Your own annotated documents')")
    raise UserError(f"{display(root)}: found annotation files of more than one format ({', '.join(found)}); "
                    f"set custom.format in params.yaml to the one to use")


def _class_id(key: object, path: Path) -> int:
    """A class id of data.yaml `names`: a whole number (written as a number or as digits)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.strip().isdigit() and len(key.strip()) < 10:
        return int(key)
    raise UserError(f"{display(path)}: names: key {one_line(repr(key))[:40]} is not a class id; write `names:` as a "
                    f"list of class names, or as a mapping of whole numbers to names (0: handwriting)")


def _names_file(path: Path) -> dict[int, str]:
    fix = "save it again as UTF-8 text"
    if path.suffix == ".yaml":
        try:
            data = yaml.safe_load(read_text(path, fix))
        except (yaml.YAMLError, RecursionError, ValueError) as err:
            raise UserError(f"{display(path)}: not valid YAML ({type(err).__name__}); export it again") from None
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, list):
            names = dict(enumerate(names))
        if not isinstance(names, dict) or not names:
            raise UserError(f"{display(path)}: needs `names:` (a list of class names, or a mapping id: name)")
        return {_class_id(k, path): str(v).strip() for k, v in names.items()}
    return dict(enumerate(line.strip() for line in read_text(path, fix).splitlines() if line.strip()))


class YoloNames:
    """Class names of YOLO labels, from the nearest names file in the label's folder or above (cached)."""

    def __init__(self, root: Path):
        self.root, self.cache = root, {}

    def __call__(self, label: Path) -> tuple[dict[int, str], Path]:
        folder = label.parent
        while folder not in self.cache:
            found = next((folder / n for n in NAMES_FILES if (folder / n).is_file()), None)
            if found:
                self.cache[folder] = (_names_file(found), found)
            elif folder == self.root:
                raise UserError(f"{display(label)}: no classes.txt, obj.names or data.yaml in its folder or above; add "
                                f"classes.txt with one class name per line (line 1 is class 0)")
            else:
                folder = folder.parent
        return self.cache[folder]


def read_yolo(path: Path, root: Path, names_of: YoloNames) -> Label:
    names, names_file = names_of(path)
    label = Label(display(path), pair_key(path, root), normalized=True)
    lines = read_text(path, "a YOLO label is a text file with a `class cx cy w h` line per box").splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{display(path)}:{number}"
        try:
            row = parse_line(line)
        except ValueError:
            row = (None, [])
        if row is None:
            continue
        cls, coords = row[0], finite(row[1], where, "coordinates")
        if len(coords) != 4 and (len(coords) < 6 or len(coords) % 2):
            raise UserError(f"{where}: expected `class cx cy w h` (a class id and 4 numbers from 0 to 1), got "
                            f"{line.strip()[:80]!r}; fix or delete the line")
        if cls not in names:
            raise UserError(f"{where}: class id {str(cls)[:20]} is not in {display(names_file)} "
                            f"(ids 0 to {len(names) - 1}); fix the id or add the class name there")
        if len(coords) == 4:
            box = corners(*coords)
        else:  # a segmentation polygon (Roboflow and Ultralytics segment exports): its bounding box
            box = (min(coords[0::2]), min(coords[1::2]), max(coords[0::2]), max(coords[1::2]))
        label.boxes.append(Box(names[cls], *box, where))
    return label


def read_voc(path: Path, root: Path) -> Label:
    top = parse_xml(path, "fix it there or save the annotation again in labelImg")
    if top.tag != "annotation":
        raise UserError(f"{display(path)}: not a Pascal VOC file (root element <{top.tag}>, expected <annotation>); "
                        f"move it out of the custom data folder")
    w, h = positive_int(top.findtext("size/width")), positive_int(top.findtext("size/height"))
    label = Label(display(path), pair_key(path, root), size=(w, h) if w and h else None)
    for number, obj in enumerate(top.iter("object"), start=1):
        where = f"{display(path)}: object {number}"
        name, bndbox = (obj.findtext("name") or "").strip(), obj.find("bndbox")
        if not name or bndbox is None:
            raise UserError(f"{where}: needs <name> and <bndbox>; fix the object or delete it")
        try:
            box = finite([float(bndbox.findtext(k) or "") for k in ("xmin", "ymin", "xmax", "ymax")], where, "bndbox")
        except ValueError:
            raise UserError(f"{where} ({one_line(name)[:60]}): <bndbox> needs numbers <xmin>, <ymin>, <xmax>, <ymax>; "
                            f"fix the object or delete it") from None
        label.boxes.append(Box(name, *box, where))
    return label


def read_labels(files: list[Path], root: Path, fmt: str) -> list[Label]:
    """Every label of format `fmt` among `files`, in file order."""
    names_of = YoloNames(root)
    readers = {"voc": lambda path: [read_voc(path, root)], "cvat": lambda path: read_cvat(path, root),
               "coco": lambda path: read_coco(path, root), "label-studio": lambda path: read_label_studio(path, root),
               "yolo": lambda path: [read_yolo(path, root, names_of)]}
    return [label for path in annotation_files(files, fmt) for label in readers[fmt](path)]


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES

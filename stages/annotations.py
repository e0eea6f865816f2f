"""Readers of the annotation formats the `custom` stage accepts, into one form: a Label of named boxes per image.

- yolo: `<stem>.txt` with `class cx cy w h` per line (fractions of the image; polygons `class x1 y1 x2 y2 ...` are
  reduced to their bounding box) and class names from the nearest classes.txt (labelImg), obj.names (CVAT) or
  data.yaml `names` (Roboflow, Ultralytics) in the label's folder or above.
- voc: one Pascal VOC `<stem>.xml` per image (labelImg's default), `<object><name><bndbox>` in pixels.
- coco: `*.json` with `images`, `annotations` (bbox = [x, y, width, height] in pixels) and `categories`
  (CVAT, Label Studio, Roboflow).
An image and a YOLO/VOC label pair up when their paths, without the extension and without the folders that only
sort files by kind (images/, labels/, annotations/, JPEGImages/), are the same. A file that cannot be read stops
the stage with one line naming it (and the line, object or annotation id).
"""
from __future__ import annotations

import json
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stages.common import UserError, shown
from stages.images import IMAGE_SUFFIXES
from stages.choices import CUSTOM_FORMATS

FORMATS = CUSTOM_FORMATS
KIND_FOLDERS = frozenset({"images", "labels", "annotations", "jpegimages"})
NAMES_FILES = ("classes.txt", "obj.names", "data.yaml")
# Files of the exports that are not labels: readmes, class lists, CVAT's image lists (train.txt), Label Studio's
# notes.json beside its YOLO export.
NOT_LABELS = re.compile(r"(readme|license).*\.\w+|(classes|obj|train|valid|val|test)\.(txt|names)|notes\.json",
                        re.IGNORECASE)


@dataclass
class Box:
    name: str  # class name as annotated
    x0: float  # corners in pixels, or in fractions of the image when the label is `normalized`
    y0: float
    x1: float
    y1: float
    where: str  # file and line, object or annotation id


@dataclass
class Label:
    where: str  # the label file, or the COCO file and image id
    key: str  # pairing key of the image it describes ("" when that image was not found)
    boxes: list[Box] = field(default_factory=list)
    normalized: bool = False
    size: tuple[int, int] | None = None  # (width, height) the file records for its image


def pair_key(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return "/".join([p for p in rel.parent.parts if p.lower() not in KIND_FOLDERS] + [rel.stem])


def annotation_files(files: list[Path], fmt: str) -> list[Path]:
    suffix = {"yolo": ".txt", "voc": ".xml", "coco": ".json"}[fmt]
    return [f for f in files if f.suffix.lower() == suffix and not NOT_LABELS.fullmatch(f.name)]


def detect_format(files: list[Path], root: Path) -> str:
    found = [fmt for fmt in FORMATS if annotation_files(files, fmt)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise UserError(f"{shown(root)}: no annotation files (.txt, .xml or .json) found; put your labels next to "
                        f"the images (see README, 'Your own annotated documents')")
    raise UserError(f"{shown(root)}: found annotation files of more than one format ({', '.join(found)}); "
                    f"set custom.format in params.yaml to the one to use")


def _finite(values: list[float], where: str, expected: str) -> list[float]:
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"{where}: {expected} must be finite numbers, got {values}")
    return values


def _names_file(path: Path) -> dict[int, str]:
    if path.suffix == ".yaml":
        try:
            names = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("names")
        except (yaml.YAMLError, AttributeError) as err:
            raise UserError(f"{shown(path)}: not valid YAML ({type(err).__name__}); export it again") from None
        if isinstance(names, list):
            names = dict(enumerate(names))
        if not isinstance(names, dict) or not names:
            raise UserError(f"{shown(path)}: needs `names:` (a list of class names, or a mapping id: name)")
        return {int(k): str(v).strip() for k, v in names.items()}
    return dict(enumerate(line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()))


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
                raise UserError(f"{shown(label)}: no classes.txt, obj.names or data.yaml in its folder or above; add "
                                f"classes.txt with one class name per line (line 1 is class 0)")
            else:
                folder = folder.parent
        return self.cache[folder]


def read_yolo(path: Path, root: Path, names_of: YoloNames) -> Label:
    names, names_file = names_of(path)
    label = Label(shown(path), pair_key(path, root), normalized=True)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{shown(path)}: not a text file; a YOLO label has a `class cx cy w h` line per box") from None
    for number, line in enumerate(lines, start=1):
        where, tokens = f"{shown(path)}:{number}", line.split()
        if not tokens:
            continue
        try:
            cls, coords = int(tokens[0]), _finite([float(t) for t in tokens[1:]], where, "coordinates")
        except ValueError:
            coords = []
        if len(coords) != 4 and (len(coords) < 6 or len(coords) % 2):
            raise UserError(f"{where}: expected `class cx cy w h` (a class id and 4 numbers from 0 to 1), got "
                            f"{line.strip()!r}; fix or delete the line")
        if cls not in names:
            raise UserError(f"{where}: class id {cls} is not in {shown(names_file)} (ids 0 to {len(names) - 1}); "
                            f"fix the id or add the class name there")
        if len(coords) == 4:
            cx, cy, w, h = coords
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        else:  # a segmentation polygon (Roboflow and Ultralytics segment exports): its bounding box
            box = (min(coords[0::2]), min(coords[1::2]), max(coords[0::2]), max(coords[1::2]))
        label.boxes.append(Box(names[cls], *box, where))
    return label


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(float(text or ""))
    except ValueError:
        return None
    return value if value > 0 else None


def read_voc(path: Path, root: Path) -> Label:
    try:
        tree = ET.parse(path)
    except ET.ParseError as err:
        reason = re.sub(r": line \d+, column \d+$", "", str(err))
        raise UserError(f"{shown(path)}:{err.position[0]}: malformed XML ({reason}); fix it there or save the "
                        f"annotation again in labelImg") from None
    top = tree.getroot()
    if top.tag != "annotation":
        raise UserError(f"{shown(path)}: not a Pascal VOC file (root element <{top.tag}>, expected <annotation>); "
                        f"move it out of the custom data folder")
    w, h = _positive_int(top.findtext("size/width")), _positive_int(top.findtext("size/height"))
    label = Label(shown(path), pair_key(path, root), size=(w, h) if w and h else None)
    for number, obj in enumerate(top.iter("object"), start=1):
        where = f"{shown(path)}: object {number}"
        name, corners = (obj.findtext("name") or "").strip(), obj.find("bndbox")
        if not name or corners is None:
            raise UserError(f"{where}: needs <name> and <bndbox>; fix the object or delete it")
        try:
            box = _finite([float(corners.findtext(k) or "") for k in ("xmin", "ymin", "xmax", "ymax")], where, "bndbox")
        except ValueError:
            raise UserError(f"{where} ({name}): <bndbox> needs numbers <xmin>, <ymin>, <xmax>, <ymax>; "
                            f"fix the object or delete it") from None
        label.boxes.append(Box(name, *box, where))
    return label


def _coco_image_path(file_name: str, json_file: Path, root: Path) -> Path | None:
    """Where a COCO image is: relative to the JSON's folder, an images/ folder beside or above it, or the root."""
    bases = [json_file.parent, json_file.parent / "images", json_file.parent.parent,
             json_file.parent.parent / "images", root, root / "images"]
    base_name = Path(file_name).name
    names = [base_name] if Path(file_name).is_absolute() else [file_name, base_name]
    top = Path(os.path.abspath(root))  # no resolve(): DVC may link the files into its cache
    for base in bases:
        for name in names:
            candidate = Path(os.path.abspath(base / name))
            if candidate.is_relative_to(top) and candidate.is_file():
                return root / candidate.relative_to(top)
    return None


def _coco_fields(item: object, keys: tuple[str, ...], where: str, fix: str) -> dict:
    if not isinstance(item, dict) or any(k not in item for k in keys):
        raise UserError(f"{where}: needs the fields {', '.join(keys)}; {fix}")
    return item


def read_coco(path: Path, root: Path) -> list[Label]:
    """One Label per image entry; an entry whose image file is missing gets key ""."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise UserError(f"{shown(path)}: not UTF-8 text; export the annotations again as COCO JSON") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{shown(path)}:{err.lineno}: invalid JSON ({err.msg}, column {err.colno}); export the "
                        f"annotations again as COCO JSON") from None
    fix = "export the annotations again as COCO JSON"
    lists = ("images", "annotations", "categories")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in lists):
        raise UserError(f"{shown(path)}: not a COCO file (it needs the lists {', '.join(lists)}); {fix}")
    checked = (_coco_fields(c, ("id", "name"), f"{shown(path)}: category {c!r:.60}", fix) for c in data["categories"])
    categories = {c["id"]: str(c["name"]).strip() for c in checked}
    labels: dict[object, Label] = {}
    for entry in data["images"]:
        where = f"{shown(path)}: image id {entry.get('id') if isinstance(entry, dict) else entry!r:.40}"
        entry = _coco_fields(entry, ("id", "file_name"), where, fix)
        image = _coco_image_path(str(entry["file_name"]), path, root)
        w, h = _positive_int(str(entry.get("width"))), _positive_int(str(entry.get("height")))
        labels[entry["id"]] = Label(f"{where} ({entry['file_name']})", pair_key(image, root) if image else "",
                                    size=(w, h) if w and h else None)
    for ann in data["annotations"]:
        where = f"{shown(path)}: annotation id {ann.get('id') if isinstance(ann, dict) else ann!r:.40}"
        ann = _coco_fields(ann, ("image_id", "category_id", "bbox"), where, fix)
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise UserError(f"{where}: bbox must be [x, y, width, height] in pixels, got {bbox!r:.60}; {fix}")
        if ann["image_id"] not in labels or ann["category_id"] not in categories:
            missing = "image_id" if ann["image_id"] not in labels else "category_id"
            raise UserError(f"{where}: {missing} {ann[missing]!r} is not listed in the file's "
                            f"{'images' if missing == 'image_id' else 'categories'}; {fix}")
        x, y, w, h = _finite([float(v) for v in bbox], where, "bbox")
        labels[ann["image_id"]].boxes.append(Box(categories[ann["category_id"]], x, y, x + w, y + h, where))
    return list(labels.values())


def read_labels(files: list[Path], root: Path, fmt: str) -> list[Label]:
    """Every label of format `fmt` among `files`, in file order."""
    names_of = YoloNames(root)
    labels: list[Label] = []
    for path in annotation_files(files, fmt):
        if fmt == "yolo":
            labels.append(read_yolo(path, root, names_of))
        elif fmt == "voc":
            labels.append(read_voc(path, root))
        else:
            labels.extend(read_coco(path, root))
    return labels


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES

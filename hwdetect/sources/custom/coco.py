"""COCO JSON (CVAT, Label Studio, Roboflow): `images`, `annotations` (bbox = [x, y, width, height] in pixels) and
`categories`; image files are looked for beside the JSON, in an images/ folder (or CVAT's images/<subset>/) beside
or above it, or at the top."""
from __future__ import annotations

import json
from pathlib import Path

from hwdetect.cli import UserError, one_line
from hwdetect.files.walk import display
from hwdetect.sources.custom.labels import Box, Label, finite, pair_key, positive_int
from hwdetect.sources.custom.locate import find_image, refuse_mostly_missing


def _bases(json_file: Path, root: Path) -> list[Path]:
    """Folders a COCO file's images may be in: beside it, images/ beside or above it (CVAT "Save images": the
    subset's folder images/<subset>/ for annotations/instances_<subset>.json), and the top of the source."""
    parents = [json_file.parent, json_file.parent.parent]
    subset = json_file.stem.removeprefix("instances_") if json_file.stem.startswith("instances_") else None
    bases = [base for parent in parents for base in (parent, parent / "images")]
    if subset:
        bases[1:1] = [parent / "images" / subset for parent in parents]
    return list(dict.fromkeys([*bases, root, root / "images"]))


def _identifier(value: object, where: str, key: str, fix: str) -> int | str:
    """A COCO id: a number or a text; a list, a mapping or a fraction cannot name an entry."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise UserError(f"{where}: {key} must be a whole number, got {one_line(repr(value))[:40]}; {fix}")


def load_json(path: Path, fix: str) -> object:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise UserError(f"{display(path)}: not UTF-8 text (byte at offset {err.start}); save it as UTF-8, or "
                        f"{fix}") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{display(path)}:{err.lineno}: invalid JSON ({err.msg}, column {err.colno}); "
                        f"{fix}") from None
    except (ValueError, RecursionError) as err:  # a number of more than 4300 digits, lists nested too deep
        raise UserError(f"{display(path)}: unreadable JSON ({type(err).__name__}: {str(err)[:60]}); {fix}") from None


def _coco_fields(item: object, keys: tuple[str, ...], where: str, fix: str) -> dict:
    if not isinstance(item, dict) or any(k not in item for k in keys):
        raise UserError(f"{where}: needs the fields {', '.join(keys)}; {fix}")
    return item


def read_coco(path: Path, root: Path) -> list[Label]:
    """One Label per image entry; an entry whose image file is missing gets key ""."""
    fix = "export the annotations again as COCO JSON"
    data = load_json(path, fix)
    lists = ("images", "annotations", "categories")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in lists):
        raise UserError(f"{display(path)}: not a COCO file (it needs the lists {', '.join(lists)}); {fix}")
    categories: dict[int | str, str] = {}
    for c in data["categories"]:
        where = f"{display(path)}: category {one_line(repr(c))[:60]}"
        c = _coco_fields(c, ("id", "name"), where, fix)
        categories[_identifier(c["id"], where, "id", fix)] = str(c["name"]).strip()
    labels: dict[int | str, Label] = {}
    for entry in data["images"]:
        shown_id = entry.get("id") if isinstance(entry, dict) else entry
        where = f"{display(path)}: image id {one_line(repr(shown_id))[:40]}"
        entry = _coco_fields(entry, ("id", "file_name"), where, fix)
        image_id = _identifier(entry["id"], where, "id", fix)
        if image_id in labels:
            raise UserError(f"{where}: listed twice in images, so its annotations cannot be told apart; {fix}")
        image = find_image(str(entry["file_name"]), _bases(path, root), root)
        w, h = positive_int(str(entry.get("width"))), positive_int(str(entry.get("height")))
        labels[image_id] = Label(f"{where} ({one_line(str(entry['file_name']))[:120]})",
                                 pair_key(image, root) if image else "", size=(w, h) if w and h else None)
    refuse_mostly_missing(path, list(labels.values()), _bases(path, root), "put the images where file_name "
                          "points, or export again with the images (CVAT: 'Save images')")
    for ann in data["annotations"]:
        shown_id = ann.get("id") if isinstance(ann, dict) else ann
        where = f"{display(path)}: annotation id {one_line(repr(shown_id))[:40]}"
        ann = _coco_fields(ann, ("image_id", "category_id", "bbox"), where, fix)
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            raise UserError(f"{where}: bbox must be [x, y, width, height] in pixels, got {one_line(repr(bbox))[:60]}; "
                            f"{fix}")
        ids = {key: _identifier(ann[key], where, key, fix) for key in ("image_id", "category_id")}
        if ids["image_id"] not in labels or ids["category_id"] not in categories:
            missing = "image_id" if ids["image_id"] not in labels else "category_id"
            raise UserError(f"{where}: {missing} {one_line(repr(ids[missing]))[:40]} is not listed in the file's "
                            f"{'images' if missing == 'image_id' else 'categories'}; {fix}")
        try:
            x, y, w, h = finite([float(v) for v in bbox], where, "bbox")
        except OverflowError:
            raise UserError(f"{where}: bbox {str(bbox)[:60]} holds a number too large; {fix}") from None
        labels[ids["image_id"]].boxes.append(Box(categories[ids["category_id"]], x, y, x + w, y + h, where))
    return list(labels.values())

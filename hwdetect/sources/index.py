"""Check one data source and index it for the split stage.

A source is a folder with images/, labels/ (YOLO txt, class 0 = handwriting, one file per image) and groups.csv
(image,group). Its index lists image, group, the md5 of the image and its label, and the box count, so the split
stage re-runs when any of them changes, and only for the selected sources.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from hwdetect.cli import UserError
from hwdetect.files.tables import read_table, table_text
from hwdetect.files.yolo_labels import read_boxes
from hwdetect.paths import shown

COLUMNS = ("image", "group", "image_md5", "label_md5", "boxes")
Row = tuple[str, str, str, str, int]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def index(src: Path) -> list[Row]:
    """The checked rows of the source in folder `src`, sorted; UserError naming the file and line of a mistake."""
    table = src / "groups.csv"
    if not table.exists():
        raise UserError(f"{shown(table)}: missing; run the stage that produces this source (dvc repro)")
    rows = []
    for n, row in enumerate(read_table(table), start=2):
        image, group = row.get("image"), row.get("group")
        if not image or not group:
            raise UserError(f"{shown(table)}:{n}: expected columns image,group")
        img, label = src / "images" / image, src / "labels" / f"{Path(image).stem}.txt"
        if Path(image).name != image or not img.is_file():
            raise UserError(f"{shown(table)}:{n}: image {image!r} not found in {shown(src / 'images')}")
        if not label.is_file():
            raise UserError(f"{shown(table)}:{n}: {shown(label)} missing; every image needs a label file "
                            "(empty when it has no handwriting)")
        rows.append((image, group, _md5(img), _md5(label), len(read_boxes(label))))
    if not rows:
        raise UserError(f"{shown(table)}: lists no images; this source is empty")
    return sorted(rows)


def index_text(rows: list[Row]) -> str:
    return table_text(COLUMNS, rows)

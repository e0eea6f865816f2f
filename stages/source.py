"""Stage `source@<name>`: check one selected data source and index it for the split stage.

A source is a folder data/sources/<name>/ with images/, labels/ (YOLO txt, class 0 = handwriting, one file per
image) and groups.csv (image,group). The index data/selected/<name>.csv lists image, group and the md5 of the
image and its label, so the split stage re-runs when any of them changes, and only for the selected sources.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path

from stages import params as P
from stages.common import ROOT, UserError, cli, log, shown, write_atomic

SOURCES_DIR = ROOT / "data" / "sources"
INDEX_DIR = ROOT / "data" / "selected"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def check_label(path: Path) -> int:
    """Validate a YOLO label file; return its box count."""
    boxes = 0
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            cls, values = int(parts[0]), [float(v) for v in parts[1:]]
        except (ValueError, IndexError):
            cls, values = -1, []
        if cls != 0 or len(values) != 4 or not all(0 <= v <= 1 for v in values) or min(values[2:]) <= 0:
            raise UserError(f"{shown(path)}:{n}: expected `0 cx cy w h` with values in [0, 1] and w, h > 0; "
                            f"got {line.strip()!r}; fix or regenerate this source")
        boxes += 1
    return boxes


def index(name: str) -> list[tuple[str, str, str, str, int]]:
    src = SOURCES_DIR / name
    table = src / "groups.csv"
    if not table.exists():
        raise UserError(f"{shown(table)}: missing; run the stage that produces this source (dvc repro)")
    rows = []
    with table.open(newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            image, group = row.get("image"), row.get("group")
            if not image or not group:
                raise UserError(f"{shown(table)}:{n}: expected columns image,group")
            img, label = src / "images" / image, src / "labels" / f"{Path(image).stem}.txt"
            if not img.exists():
                raise UserError(f"{shown(table)}:{n}: image {image} not found in {shown(src / 'images')}")
            if not label.exists():
                raise UserError(f"{shown(table)}:{n}: {shown(label)} missing; every image needs a label file "
                                "(empty when it has no handwriting)")
            rows.append((image, group, _md5(img), _md5(label), check_label(label)))
    if not rows:
        raise UserError(f"{shown(table)}: lists no images; this source is empty")
    return sorted(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: data.sources.")
    parser.add_argument("name", help="source name, one of params.yaml data.sources")
    name = parser.parse_args().name
    selected = P.load()["data"]["sources"]
    if name not in selected:
        raise UserError(f"params.yaml: data.sources: {name!r} is not selected (selected: {', '.join(selected)})")
    rows = index(name)
    text = "image,group,image_md5,label_md5,boxes\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    write_atomic(INDEX_DIR / f"{name}.csv", text)
    log.info(f"source {name}: {len(rows)} images, {len({r[1] for r in rows})} groups, "
             f"{sum(r[4] for r in rows)} boxes")


if __name__ == "__main__":
    cli(main)

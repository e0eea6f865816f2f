"""The YOLO label format, written and read in one place: a `<image stem>.txt` per image, one line per box,
`class cx cy w h` with the centre and size as fractions of the image. The pipeline has one class, 0 = handwriting;
an image without handwriting has an empty file. Sets made to measure (bench.transfer's synthetic proxies) may also
label print as class 1, so that boxes on print can be counted."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from hwdetect.cli import UserError
from hwdetect.files.walk import display, read_text

HANDWRITING, PRINT = 0, 1
CLASS_NAMES = {HANDWRITING: "handwriting"}  # what the pipeline trains and detects
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def format_boxes(boxes: Iterable[Box], width: float, height: float, cls: int = HANDWRITING) -> str:
    """Label lines of boxes given in pixels (x0, y0, x1, y1) of a width x height image, 6 decimals."""
    return "".join(f"{cls} {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                   f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}\n" for x0, y0, x1, y1 in boxes)


def parse_line(line: str) -> tuple[int, list[float]] | None:
    """The class id and numbers of one line; None for a blank line; ValueError when it is not a label line
    (a class id that is not a whole number, a number Python cannot read, or one with more than 4300 digits)."""
    tokens = line.split()
    if not tokens:
        return None
    return int(tokens[0]), [float(t) for t in tokens[1:]]


def corners(cx: float, cy: float, w: float, h: float) -> Box:
    """A centre-and-size box as its corners, in the same units."""
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def read_rows(path: Path, classes: int = 1, fix: str = "fix or regenerate this source") -> list[tuple[int, Box]]:
    """(class, box as fractions x0, y0, x1, y1) for every line of a label file of a set with `classes` classes.

    Every line must be a class of the set with four values in [0, 1] and a positive size; else UserError naming file
    and line.
    """
    rows = []
    for n, line in enumerate(read_text(path, fix).splitlines(), start=1):
        try:
            row = parse_line(line)
        except ValueError:
            row = (-1, [])
        if row is None:
            continue
        cls, values = row
        if not 0 <= cls < classes or len(values) != 4 or not all(0 <= v <= 1 for v in values) or min(values[2:]) <= 0:
            expected = str(HANDWRITING) if classes == 1 else f"class (0 to {classes - 1})"
            raise UserError(f"{display(path)}:{n}: expected `{expected} cx cy w h` with values in [0, 1] and w, h > 0; "
                            f"got {line.strip()[:80]!r}; {fix}")
        rows.append((cls, corners(*values)))
    return rows


def read_boxes(path: Path, fix: str = "fix or regenerate this source") -> list[Box]:
    """The boxes of one of the pipeline's own label files (class 0 only), as fractions (x0, y0, x1, y1)."""
    return [box for _, box in read_rows(path, 1, fix)]

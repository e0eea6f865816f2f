"""What evaluation scores against: class 0 of a dataset is handwriting, the lines a detector must find. A set may
label more: a class named `print` marks printed text, so that boxes on it can be counted; any other class is read
and left out. A page with no handwriting label (an empty label file, or none) is a print-only page."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwdetect.cli import UserError
from hwdetect.files.walk import display, read_text
from hwdetect.files.yolo_labels import HANDWRITING, corners, parse_line

PRINT = "print"  # the class name that marks printed text in a set that labels it
FIX = "fix the label file"


def print_class(names: dict[int, str]) -> int | None:
    """The class number of print in a dataset's names; None when the set does not label print."""
    return next((k for k, name in names.items() if str(name).strip().lower() == PRINT), None)


def read_labels(label: Path, classes: int) -> list[tuple[int, tuple[float, float, float, float]]]:
    """(class, box as fractions x0, y0, x1, y1) for every line of a label file; UserError naming the line when it is
    not `class cx cy w h` with a class of the set and values in [0, 1]."""
    rows = []
    for n, line in enumerate(read_text(label, FIX).splitlines(), start=1):
        try:
            row = parse_line(line)
        except ValueError:
            row = (-1, [])
        if row is None:
            continue
        cls, values = row
        if not 0 <= cls < classes or len(values) != 4 or not all(0 <= v <= 1 for v in values) or min(values[2:]) <= 0:
            expected = "0" if classes == 1 else f"class (0 to {classes - 1})"
            raise UserError(f"{display(label)}:{n}: expected `{expected} cx cy w h` with values in [0, 1] and w, h > "
                            f"0; got {line.strip()[:80]!r}; {FIX}")
        rows.append((cls, corners(*values)))
    return rows


def page_labels(image: Path, names: dict[int, str]) -> tuple[np.ndarray, np.ndarray | None]:
    """The handwriting boxes of an image and, where the set labels print, its print boxes (N×4, xyxy as fractions of
    the image); none when the image has no label file."""
    from ultralytics.data.utils import img2label_paths

    label = Path(img2label_paths([str(image)])[0])
    rows = read_labels(label, len(names)) if label.exists() else []

    def boxes(cls: int) -> np.ndarray:
        return np.array([box for c, box in rows if c == cls], float).reshape(-1, 4)

    printed = print_class(names)
    return boxes(HANDWRITING), None if printed is None else boxes(printed)

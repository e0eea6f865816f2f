"""What evaluation scores against: class 0 of a dataset is handwriting, the lines a detector must find. A set may
label more: a class named `print` marks printed text, so that boxes on it can be counted; any other class is read
and left out. A page with no handwriting label (an empty label file, or none) is a print-only page."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hwdetect.files.yolo_labels import HANDWRITING, read_rows

PRINT = "print"  # the class name that marks printed text in a set that labels it
FIX = "fix the label file"


def print_class(names: dict[int, str]) -> int | None:
    """The class number of print in a dataset's names; None when the set does not label print."""
    return next((k for k, name in names.items() if str(name).strip().lower() == PRINT), None)


def page_labels(image: Path, names: dict[int, str]) -> tuple[np.ndarray, np.ndarray | None]:
    """The handwriting boxes of an image and, where the set labels print, its print boxes (N×4, xyxy as fractions of
    the image); none when the image has no label file."""
    from ultralytics.data.utils import img2label_paths

    label = Path(img2label_paths([str(image)])[0])
    rows = read_rows(label, len(names), FIX) if label.exists() else []

    def boxes(cls: int) -> np.ndarray:
        return np.array([box for c, box in rows if c == cls], float).reshape(-1, 4)

    printed = print_class(names)
    return boxes(HANDWRITING), None if printed is None else boxes(printed)

"""One form for the labels of every annotation format: a Label of named boxes per image, paired with its image."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from hwdetect.cli import UserError

KIND_FOLDERS = frozenset({"images", "labels", "annotations", "jpegimages"})


@dataclass
class Box:
    name: str  # class name as annotated
    x0: float  # corners in pixels, or in fractions of the image when the label is `normalized`
    y0: float
    x1: float
    y1: float
    where: str  # file and line, object or annotation id
    dropped: str = ""  # why the box cannot be used, found while reading it (a rotated box, a shape that is no box)


@dataclass
class Label:
    where: str  # the label file, or the COCO file and image id
    key: str  # pairing key of the image it describes ("" when that image was not found)
    boxes: list[Box] = field(default_factory=list)
    normalized: bool = False
    size: tuple[int, int] | None = None  # (width, height) the file records for its image
    annotated: bool = True  # False: a task no one annotated (only cancelled annotations or predictions)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, line) found while reading it


def pair_key(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return "/".join([p for p in rel.parent.parts if p.lower() not in KIND_FOLDERS] + [rel.stem])


def finite(values: list[float], where: str, expected: str) -> list[float]:
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"{where}: {expected} must be finite numbers, got {str(values)[:80]}")
    return values


def positive_int(text: str | None) -> int | None:
    """A recorded image width or height; None when it is missing, not a number, not finite or not positive."""
    try:
        value = int(float(text or ""))
    except (ValueError, OverflowError):
        return None
    return value if value > 0 else None

"""CVAT for images 1.1 (`annotations.xml`, CVAT's own export): one <image name width height> per image, holding
<box label xtl ytl xbr ybr> in pixels and <polygon points> (reduced to its bounding box). Images are looked for
in images/ beside the XML (images/<subset>/ for a project), beside it, and at the top of the source. A rotated box
is dropped and counted (a YOLO box has no angle), and so is a shape that is no box (points, polyline, ellipse,
mask, cuboid, skeleton); image tags are not shapes. The video variant (<track>) and DOCTYPE declarations, which CVAT
never writes, are refused."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hwdetect.cli import UserError, one_line
from hwdetect.files.walk import display
from hwdetect.sources.custom.labels import Box, Label, finite, pair_key, positive_int
from hwdetect.sources.custom.locate import find_image, refuse_mostly_missing

FIX = "export the task again as 'CVAT for images 1.1'"
SHAPES = frozenset({"box", "polygon", "polyline", "points", "ellipse", "mask", "cuboid", "skeleton"})
DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)")


def parse_xml(path: Path, fix: str) -> ET.Element:
    """The root element of an XML file; one line naming the file (and line) when it is not well-formed XML."""
    data = path.read_bytes()
    if DECLARATION.search(data[:65536]):
        raise UserError(f"{display(path)}: holds a DOCTYPE or entity declaration, which annotation tools never write "
                        f"and which is not read here; {fix}")
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        reason = re.sub(r": line \d+, column \d+$", "", str(err))
        raise UserError(f"{display(path)}:{err.position[0]}: malformed XML ({reason}); {fix}") from None
    except (ValueError, LookupError, RecursionError) as err:  # an encoding Python does not know, say
        raise UserError(f"{display(path)}: unreadable XML ({type(err).__name__}: {one_line(str(err))[:80]}); "
                        f"{fix}") from None


def _numbers(shape: ET.Element, keys: tuple[str, ...], where: str) -> list[float]:
    try:
        return finite([float(shape.get(k, "")) for k in keys], where, ", ".join(keys))
    except ValueError:
        raise UserError(f"{where}: needs the numbers {', '.join(keys)}, got "
                        f"{one_line(repr({k: shape.get(k) for k in keys}))[:80]}; {FIX}") from None


def _box(shape: ET.Element, where: str) -> Box:
    label = (shape.get("label") or "").strip()
    if not label:
        raise UserError(f"{where}: has no label; {FIX}")
    if shape.tag == "box":
        x0, y0, x1, y1 = _numbers(shape, ("xtl", "ytl", "xbr", "ybr"), where)
        rotation = _numbers(shape, ("rotation",), where)[0] if shape.get("rotation") is not None else 0.0
        if math.remainder(rotation, 360):
            return Box(label, x0, y0, x1, y1, f"{where} (rotated {rotation:g}°)", dropped="rotated")
        return Box(label, x0, y0, x1, y1, where)
    if shape.tag == "polygon":
        try:
            points = [float(v) for pair in (shape.get("points") or "").split(";") for v in pair.split(",")]
        except ValueError:
            points = []
        if len(points) < 6 or len(points) % 2:
            raise UserError(f"{where}: points must be x,y pairs separated by ';', got "
                            f"{one_line(repr(shape.get('points')))[:60]}; {FIX}")
        xs, ys = finite(points[0::2], where, "points"), finite(points[1::2], where, "points")
        return Box(label, min(xs), min(ys), max(xs), max(ys), where)
    return Box(label, 0, 0, 0, 0, f"{where}: a {shape.tag}, not a box", dropped="not_a_box")


def read_cvat(path: Path, root: Path) -> list[Label]:
    """One Label per <image>; an image whose file is not found gets key ""."""
    top = parse_xml(path, FIX)
    if top.tag != "annotations":
        raise UserError(f"{display(path)}: not a CVAT XML file (root element <{top.tag}>, expected <annotations>); "
                        f"{FIX}")
    if top.find("track") is not None:
        raise UserError(f"{display(path)}: holds <track> elements, so it is a 'CVAT for video 1.1' export; "
                        f"{FIX}")
    labels, all_bases = [], []
    for number, image in enumerate(top.findall("image"), start=1):
        name = image.get("name")
        shown_id = one_line(image.get("id", str(number)))[:20]
        where = f"{display(path)}: image id {shown_id} ({one_line(name or '')[:120]})"
        if not name:
            raise UserError(f"{where}: has no name; {FIX}")
        subset = image.get("subset")
        bases = [path.parent / "images" / subset] if subset else []
        bases += [path.parent / "images", path.parent, root, root / "images"]
        all_bases += bases
        found = find_image(name, bases, root)
        w, h = positive_int(image.get("width")), positive_int(image.get("height"))
        label = Label(where, pair_key(found, root) if found else "", size=(w, h) if w and h else None)
        shapes = [shape for shape in image if shape.tag in SHAPES]
        label.boxes = [_box(shape, f"{where}: {shape.tag} {n}") for n, shape in enumerate(shapes, start=1)]
        labels.append(label)
    refuse_mostly_missing(path, labels, all_bases, "put the images in images/ beside it, or export again with "
                                                   "'Save images' ticked")
    return labels

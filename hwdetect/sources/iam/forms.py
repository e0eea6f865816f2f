"""Convert one IAM form (PNG + XML) into a training image and YOLO labels.

One box per handwritten line: the union of the `cmp` (connected component) boxes of its words. The
machine-printed part is never labelled (printed text is a correct negative). The footer below the third ruled
line holds the writer's unlabelled signature in about half the forms, so the image is cropped just above that rule
(found in the image; if it is not found, just below the lowest labelled line).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from hwdetect.files.yolo_labels import format_boxes

DARK = 128                # gray levels below this are ink or rule
RULE_COVER = 0.5          # a ruled line covers at least this fraction of the page width...
RULE_BAND = 25            # ...within a band of this many rows (full-size pixels), which tolerates skew
RULE_SEARCH_END = 0.9     # the footer rule is above this fraction of the height (y ≈ 2800 of 3542 on real forms)
FALLBACK_MARGIN = 0.012   # crop this fraction of the height below the lowest line when no rule is found (~40 px)
JPEG_QUALITY = 90
_WRITER = re.compile(r"^[\w.-]+$")


class Skip(Exception):
    """This form cannot be converted faithfully; `reason` is counted in the summary, `detail` says why."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass
class Line:
    id: str
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in form pixels, x1/y1 exclusive


@dataclass
class Form:
    id: str
    writer: str
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    lines_without_cmp: list[str] = field(default_factory=list)
    words_without_cmp: int = 0


def _int(element: ET.Element, name: str, where: str) -> int:
    value = element.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Skip("malformed xml", f"{where}: attribute {name}={value!r} is not an integer") from None


def parse_form(xml: bytes, form_id: str) -> Form:
    """The labelled lines of one form's XML; Skip on anything that would give a wrong label."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise Skip("malformed xml", str(err)) from None
    except (ValueError, LookupError) as err:  # an encoding Python does not know, say
        raise Skip("malformed xml", f"{type(err).__name__}: {err}") from None
    if root.tag != "form":
        raise Skip("malformed xml", f"root element is <{root.tag}>, expected <form>")
    if root.get("id") != form_id:
        raise Skip("xml id differs from file name", f"id={root.get('id')!r}")
    writer = root.get("writer-id") or ""
    if not _WRITER.match(writer):
        raise Skip("malformed xml", f"writer-id={writer!r}")
    form = Form(form_id, writer, _int(root, "width", "<form>"), _int(root, "height", "<form>"))
    part = root.find("handwritten-part")
    lines = part.findall("line") if part is not None else []
    if not lines:
        raise Skip("empty handwritten part")
    seen: set[str] = set()
    for line in lines:
        line_id = line.get("id") or ""
        for element_id in [line_id] + [w.get("id") or "" for w in line.findall("word")]:
            if element_id in seen:
                raise Skip("duplicate id", f"{element_id!r} appears twice")
            seen.add(element_id)
        boxes = []
        for word in line.findall("word"):
            cmps = word.findall("cmp")
            form.words_without_cmp += not cmps
            for c in cmps:
                x, y = _int(c, "x", f"line {line_id}"), _int(c, "y", f"line {line_id}")
                boxes.append((x, y, x + _int(c, "width", f"line {line_id}"), y + _int(c, "height", f"line {line_id}")))
        if not boxes:
            form.lines_without_cmp.append(line_id)
            continue
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        if not (0 <= box[0] < box[2] <= form.width and 0 <= box[1] < box[3] <= form.height):
            raise Skip("line box outside the image", f"line {line_id} box {box}, image {form.width}x{form.height}")
        form.lines.append(Line(line_id, line.get("text", ""), box))
    if not form.lines:
        raise Skip("no line with a cmp box", f"{len(lines)} lines, none with a word box")
    return form


def footer_cut(gray: np.ndarray, below: int) -> tuple[int, str]:
    """(row to crop at, how it was found): the top of the first ruled line under row `below`."""
    height, width = gray.shape
    scale = width / 2479
    end = int(height * RULE_SEARCH_END)
    if below < end:
        strip = (gray[below:end] < DARK).astype(np.uint8)
        runs = cv2.morphologyEx(strip, cv2.MORPH_OPEN, np.ones((1, max(3, width // 20)), np.uint8))
        band = max(3, round(RULE_BAND * scale)) | 1
        near = cv2.dilate(runs, np.ones((band, 1), np.uint8))  # a row sees the long runs of its neighbours
        cover = np.flatnonzero(near.sum(axis=1) >= RULE_COVER * width)
        if cover.size:
            first = cover[0]
            rows = np.flatnonzero(runs[max(0, first - band):first + band].any(axis=1))
            return below + max(0, first - band) + int(rows[0]), "third rule"
    return min(height, below + max(1, round(FALLBACK_MARGIN * height))), "below last line"


def init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV's own threads would only compete


def convert_form(form_id: str, png: bytes, xml: bytes, out_dir: str, downscale: float) -> dict:
    """Write images/<id>.jpg and labels/<id>.txt under out_dir; return what was done, or why it was skipped."""
    try:
        form = parse_form(xml, form_id)
        try:
            gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE) if png else None
        except cv2.error:  # OpenCV refuses some broken headers outright instead of answering None
            gray = None
        if gray is None:
            raise Skip("image unreadable", "not a decodable PNG")
        if gray.shape != (form.height, form.width):
            raise Skip("image size differs from xml",
                       f"image {gray.shape[1]}x{gray.shape[0]}, xml {form.width}x{form.height}")
    except Skip as skip:
        return {"id": form_id, "skipped": skip.reason, "detail": skip.detail}
    cut, how = footer_cut(gray, max(line.box[3] for line in form.lines))
    page = gray[:cut]
    if downscale < 1:
        size = (max(1, round(form.width * downscale)), max(1, round(cut * downscale)))
        page = cv2.resize(page, size, interpolation=cv2.INTER_AREA)
    out = Path(out_dir)
    ok, jpeg = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        return {"id": form_id, "skipped": "image unreadable", "detail": "OpenCV could not encode it as JPEG"}
    (out / "images" / f"{form_id}.jpg").write_bytes(jpeg.tobytes())  # bytes: any form id works as a file name
    (out / "labels" / f"{form_id}.txt").write_text(format_boxes((ln.box for ln in form.lines), form.width, cut))
    return {"id": form_id, "writer": form.writer, "lines": len(form.lines), "lines_without_cmp": form.lines_without_cmp,
            "words_without_cmp": form.words_without_cmp, "footer": how, "cut": cut}

"""IAM-format sample data, generated: forms in the real layout, XML in the real schema, and archives laid out like
the real ones. No real IAM file is ever used (the licence forbids redistributing them); the IAM stages' tests and
benchmark run on these.
"""
from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FULL_WIDTH, FULL_HEIGHT = 2479, 3542
ARCHIVES = ["formsA-D.tgz", "formsE-H.tgz", "formsI-Z.tgz", "xml.tgz"]
WORDS = ["A", "MOVE", "to", "stop", "Mr.", "Gaitskell", '"no"', "&", "Labour", "peers", "from", "nominating"]
LINE_ATTRIBUTES = ("asx", "asy", "ass", "dsx", "dsy", "dss", "lbx", "lby", "lbs", "ubx", "uby", "ubs",
                   "character-width", "fd0", "fd1", "fd2", "filter-width", "slant", "stroke-width")


@dataclass
class FakeForm:
    id: str
    writer: str
    png: bytes
    xml: bytes
    boxes: list[tuple[int, int, int, int]]  # expected line boxes x0, y0, x1, y1 (exclusive), form pixels
    texts: list[str]                        # expected line texts, entities decoded
    rule_y: int                             # top row of the third ruled line (the footer rule)
    width: int
    height: int


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def make_form(form_id: str = "a01-000u", writer: str = "000", width: int = 620, lines: int = 5, seed: int = 0, *,
              rule: bool = True, line_without_cmp: bool = False, noise: float = 0.0) -> FakeForm:
    """A form scaled to `width` (2479 = full size) with `lines` handwritten lines, its XML and expected labels."""
    k = width / FULL_WIDTH
    height = round(FULL_HEIGHT * k)
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 250, np.uint8)
    ink = max(1, round(5 * k))

    def s(v: float) -> int:
        return round(v * k)

    img[:, :s(45)] = 40  # the scanner's dark left edge
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 2.2 * k
    cv2.putText(img, "Sentence Database", (s(900), s(240)), font, scale, 0, ink)
    cv2.putText(img, form_id.upper(), (s(1900), s(240)), font, scale, 0, ink)
    rule_ys = [s(335), s(660), s(2800)] if rule else [s(335), s(660)]
    for y in rule_ys:
        img[y:y + max(1, s(4)), s(200):s(2280)] = 0
    for i in range(3):  # machine-printed prompt: never labelled
        cv2.putText(img, "Sentence printed for the writer to copy", (s(330), s(440 + 70 * i)), font, scale, 30, ink)
    cv2.putText(img, "Name:", (s(330), s(2880)), font, scale, 0, ink)
    signature = np.array([[s(900 + 60 * i), s(2900 + (i % 2) * 80)] for i in range(10)], np.int32)
    cv2.polylines(img, [signature], False, 20, ink)  # the unlabelled signature in the footer

    pitch = min(220, 1900 // max(1, lines))
    xml_lines, boxes, texts = [], [], []
    for n in range(lines):
        top, x = 780 + n * pitch, 300 + int(rng.integers(0, 60))
        line_id, words, cmps_all = f"{form_id}-{n:02d}", [], []
        for w in range(int(rng.integers(3, 6))):
            text = WORDS[(n * 5 + w + 6) % len(WORDS)]  # line 0 starts with "no" &
            word_w = int(rng.integers(120, 300))
            cmps = []
            for half in range(2):  # two connected components per word
                cx0, cy0 = x + half * (word_w // 2 + 10), top + int(rng.integers(0, 20))
                cw, ch = word_w // 2 - 10, int(rng.integers(60, 110))
                cmps.append((cx0, cy0, cw, ch))
                pts = np.array([[s(cx0) + ink + (s(cw) - 2 * ink) * j // 5, s(cy0) + ink + (j % 2) * (s(ch) - 2 * ink)]
                                for j in range(6)], np.int32)
                cv2.polylines(img, [pts], False, 10, ink)
            cmps_all += [(s(cx), s(cy), s(cx + cw), s(cy + ch)) for cx, cy, cw, ch in cmps]
            cmp_xml = "".join(f'<cmp x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}"/>'
                              for x0, y0, x1, y1 in cmps_all[-2:])
            start = ' sentence-start="yes"' if w == 0 and n == 0 else ""
            words.append((text, f'<word id="{line_id}-{w:02d}" text="{_attr(text)}" tag="NN"{start}>{cmp_xml}</word>'))
            x += word_w + 50
        if n == 0:  # a word without any cmp (nothing drawn): skipped, the line is kept
            words.append((".", f'<word id="{line_id}-{len(words):02d}" text="." tag="."/>'))
        text = " ".join(t for t, _ in words)
        extra = " ".join(f'{a}="{int(rng.integers(0, 3000))}"' for a in LINE_ATTRIBUTES)
        xml_lines.append(f'<line id="{line_id}" text="{_attr(text)}" segmentation="ok" threshold="154" {extra}>'
                         + "".join(w for _, w in words) + "</line>")
        boxes.append((min(b[0] for b in cmps_all), min(b[1] for b in cmps_all),
                      max(b[2] for b in cmps_all), max(b[3] for b in cmps_all)))
        texts.append(text)
    if line_without_cmp:
        line_id = f"{form_id}-{lines:02d}"
        xml_lines.append(f'<line id="{line_id}" text="lost" segmentation="err" threshold="154">'
                         f'<word id="{line_id}-00" text="lost" tag="NN"/></line>')
    if noise:
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    xml = (f'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
           f'<form created="2000-06-08 10:00:00" height="{height}" id="{form_id}" last-modified="2000-06-09 10:00:00" '
           f'skew="0.0" status="ok" version="1.0" width="{width}" writer-id="{writer}">\n'
           f'<machine-printed-part>\n<machine-print-line text="A MOVE to stop Mr. Gaitskell &amp; co."/>\n'
           f'</machine-printed-part>\n<handwritten-part>\n' + "\n".join(xml_lines) + "\n</handwritten-part>\n</form>\n")
    png = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    return FakeForm(form_id, writer, png, xml.encode("latin-1"), boxes, texts, s(2800), width, height)


def tgz_bytes(members: dict[str, bytes], compresslevel: int = 1) -> bytes:
    """A .tgz holding `members` (path → content), with a folder entry for each folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=compresslevel) as tar:
        folders = sorted({str(Path(p).parent) for p in members if "/" in p and not p.startswith("/") and ".." not in p})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def archive_members(forms: list[FakeForm]) -> dict[str, dict[str, bytes]]:
    """Archive name → members, forms split by the first letter of their id, at different folder depths."""
    groups = {"formsA-D.tgz": ("abcd", ""), "formsE-H.tgz": ("efgh", "formsE-H/"),
              "formsI-Z.tgz": ("", "data/forms/I-Z/")}  # letters ("" = the rest), folder
    members: dict[str, dict[str, bytes]] = {name: {"README.txt": b"fake IAM forms"} for name in ARCHIVES}
    for form in forms:
        name = next(n for n, (letters, _) in groups.items() if form.id[0] in letters or not letters)
        members[name][groups[name][1] + f"{form.id}.png"] = form.png
        members["xml.tgz"][f"xml/{form.id}.xml"] = form.xml
    return members


def write_archives(folder: Path, forms: list[FakeForm]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, members in archive_members(forms).items():
        (folder / name).write_bytes(tgz_bytes(members))
    return [folder / name for name in ARCHIVES]

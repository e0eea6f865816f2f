"""Render one synthetic document page: printed text (never labelled) and handwritten lines (one box each).

Handwriting is drawn stroke by stroke from Hershey vector script fonts with a per-page writer style (face, size,
slant, pen width, ink) and per-word jitter, so every box is computed from the ink actually drawn: the extent of the
stroke points plus half the pen width, after the page's rotation.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from HersheyFonts import HersheyFonts
from PIL import Image, ImageDraw, ImageFont

CORPUS = Path(__file__).with_name("corpus.txt")
TTF_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
PRINT_FONTS = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf",
               "STIXGeneral.ttf", "STIXGeneralBol.ttf", "DejaVuSansMono.ttf")
SCRIPT_FACES = ("cursive", "scriptc", "scripts", "futural", "timesi")
HERSHEY_BASELINE, HERSHEY_CAP = 9.0, 21.0  # font units: baseline y and cap height (cap line at -12)


@dataclass(frozen=True)
class Writer:
    face: str
    size: float        # cap height in pixels
    slant: float       # horizontal shear per pixel of height
    pen: int           # stroke width in pixels
    ink: int           # grey level of the ink
    word_gap: float    # space between words, in cap heights
    jitter: float      # per-word size and position wobble, as a fraction of the size


@lru_cache(maxsize=None)
def _words() -> tuple[str, ...]:
    return tuple(CORPUS.read_text().split())


@lru_cache(maxsize=None)
def _hershey(face: str) -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font(face)
    return font


@lru_cache(maxsize=4096)
def _glyph_strokes(face: str, word: str) -> tuple[np.ndarray, ...]:
    """Strokes of a word in font units, baseline at y=0, y pointing down."""
    strokes = _hershey(face).strokes_for_text(word)
    return tuple(np.array(s, dtype=np.float32) - (0.0, HERSHEY_BASELINE) for s in strokes if len(s) > 1)


@lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(TTF_DIR / name), size)


def random_writer(rng: np.random.Generator, line_height: float) -> Writer:
    return Writer(
        face=SCRIPT_FACES[rng.integers(len(SCRIPT_FACES))],
        size=line_height * rng.uniform(0.45, 0.62),
        slant=rng.uniform(-0.1, 0.45),
        pen=int(rng.choice([1, 2, 3], p=[0.55, 0.35, 0.1])),
        ink=int(rng.choice([rng.integers(0, 60), rng.integers(60, 130)], p=[0.8, 0.2])),
        word_gap=rng.uniform(0.35, 0.8),
        jitter=rng.uniform(0.02, 0.08),
    )


def text_lines(rng: np.random.Generator, count: int) -> list[list[str]]:
    """Consecutive words from a random place in the corpus, one list per line (wrapped later by width)."""
    words = _words()
    start = int(rng.integers(len(words)))
    flat = [words[(start + i) % len(words)] for i in range(count * 14)]
    return [flat[i * 14:(i + 1) * 14] for i in range(count)]


def draw_hand_line(img: np.ndarray, rng: np.random.Generator, w: Writer, words: list[str],
                   x0: float, baseline: float, x_max: float) -> np.ndarray | None:
    """Draw words from x0 until x_max; return every drawn stroke point (N×2), or None if nothing fit."""
    scale = w.size / HERSHEY_CAP
    drift_amp, drift_freq, phase = w.size * rng.uniform(0, 0.15), rng.uniform(0.002, 0.01), rng.uniform(0, 6.3)
    x, points = x0, []
    for i, word in enumerate(words):
        s = scale * (1 + rng.normal(0, w.jitter))
        strokes = [st * s for st in _glyph_strokes(w.face, word)]
        if not strokes:
            continue
        width = max(float(st[:, 0].max()) for st in strokes)
        if x + width > x_max and i > 0:
            break
        y = baseline + drift_amp * np.sin(drift_freq * x + phase) + rng.normal(0, w.jitter * w.size * 0.5)
        placed = []
        for st in strokes:
            p = st.copy()
            p[:, 0] += x - w.slant * p[:, 1] + rng.normal(0, w.jitter * w.size * 0.15)
            p[:, 1] += y
            p += rng.normal(0, 0.25, p.shape).astype(np.float32)
            placed.append(p)
        if rng.random() < 0.03:  # a crossed-out word is still part of the handwritten line
            lo = np.concatenate(placed).min(0)
            hi = np.concatenate(placed).max(0)
            placed.append(np.array([[lo[0], (lo[1] + hi[1]) / 2], [hi[0], (lo[1] + hi[1]) / 2 + 2]], np.float32))
        cv2.polylines(img, [np.round(p * 4).astype(np.int32) for p in placed], False, w.ink, w.pen,
                      cv2.LINE_AA, shift=2)
        points.extend(placed)
        x += width + w.word_gap * w.size * rng.uniform(0.7, 1.3)
    return np.concatenate(points) if points else None


def _print_block(draw: ImageDraw.ImageDraw, rng: np.random.Generator, x: int, y: int, x_max: int,
                 n_lines: int, size: int, font_name: str) -> int:
    """Typeset a justified-looking printed paragraph; return the y below it."""
    font = _font(font_name, size)
    for words in text_lines(rng, n_lines):
        line = ""
        for word in words:
            if draw.textlength(f"{line} {word}", font=font) > x_max - x:
                break
            line = f"{line} {word}".strip()
        draw.text((x, y), line, fill=int(rng.integers(0, 50)), font=font)
        y += int(size * rng.uniform(1.3, 1.6))
    return y


def render_page(seed: int, index: int, width: int, height: int, lines: tuple[int, int]) -> tuple[np.ndarray, list]:
    """Render page `index`; return the grey image and its boxes [(x0, y0, x1, y1)] of handwritten lines."""
    rng = np.random.default_rng([seed, index])
    paper = int(rng.integers(215, 256))
    page = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(page)
    margin = int(width * rng.uniform(0.06, 0.12))
    rule = max(1, width // 500)
    unit = height / 100

    # Printed header, a ruled line, a printed paragraph in a random face, another ruled line (IAM-like form).
    y = int(unit * rng.uniform(3, 7))
    draw.text((margin, y), "Sentence Database", fill=0, font=_font("DejaVuSans-Bold.ttf", int(unit * rng.uniform(2, 3))))
    y += int(unit * 5)
    draw.line([(margin // 2, y), (width - margin // 2, y)], fill=int(rng.integers(0, 90)), width=rule)
    y += int(unit * 2)
    font_name = PRINT_FONTS[rng.integers(len(PRINT_FONTS))]
    y = _print_block(draw, rng, margin, y, width - margin, int(rng.integers(2, 7)),
                     int(unit * rng.uniform(1.6, 2.6)), font_name)
    y += int(unit * 2)
    draw.line([(margin // 2, y), (width - margin // 2, y)], fill=int(rng.integers(0, 90)), width=rule)
    footer = int(height - unit * rng.uniform(6, 10))
    draw.line([(margin // 2, footer), (width - margin // 2, footer)], fill=int(rng.integers(0, 90)), width=rule)
    draw.text((margin, footer + int(unit)), "Name:", fill=0, font=_font("DejaVuSans.ttf", int(unit * 1.8)))

    # Handwritten lines between the second and third ruled lines.
    img = np.array(page)
    n = int(rng.integers(lines[0], lines[1] + 1))
    top = y + unit * 3
    pitch = min((footer - unit * 2 - top) / n, unit * rng.uniform(4.5, 8))
    writer = random_writer(rng, pitch)
    strokes = []
    for i, words in enumerate(text_lines(rng, n)):
        left = margin * rng.uniform(0.5, 1.3)
        right = width - margin * rng.uniform(0.4, 1.2)
        if i == n - 1:  # the last line of a paragraph is often short
            right = left + (right - left) * rng.uniform(0.2, 1.0)
        pts = draw_hand_line(img, rng, writer, words, left, top + pitch * (i + 0.7), right)
        if pts is not None:
            strokes.append(pts)
    return scan(img, rng, strokes, writer.pen)


def scan(img: np.ndarray, rng: np.random.Generator, strokes: list[np.ndarray], pen: int) -> tuple[np.ndarray, list]:
    """Scanner look (rotation, uneven light, blur, noise); boxes follow the rotated ink."""
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-1.2, 1.2), 1.0)
    img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    light = np.linspace(rng.uniform(-20, 0), rng.uniform(-20, 0), w, dtype=np.float32)[None, :]
    out = img.astype(np.float32) + light + rng.normal(0, rng.uniform(2, 8), img.shape).astype(np.float32)
    edge = int(rng.integers(0, w // 60 + 1))
    out[:, :edge] *= 0.3  # dark scanner edge
    out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.1, 0.8))
    boxes = []
    pad = pen / 2 + 0.5
    for pts in strokes:
        r = pts @ m[:, :2].T + m[:, 2]
        x0, y0 = np.maximum(r.min(0) - pad, 0)
        x1, y1 = np.minimum(r.max(0) + pad, (w, h))
        if x1 - x0 > 2 and y1 - y0 > 2:
            boxes.append((float(x0), float(y0), float(x1), float(y1)))
    return np.clip(out, 0, 255).astype(np.uint8), boxes


def yolo_labels(boxes: list, width: int, height: int) -> str:
    """Boxes as YOLO label lines: class 0 (handwriting), normalised centre x, centre y, width, height."""
    rows = []
    for x0, y0, x1, y1 in boxes:
        rows.append(f"0 {(x0 + x1) / 2 / width:.6f} {(y0 + y1) / 2 / height:.6f} "
                    f"{(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}")
    return "\n".join(rows) + ("\n" if rows else "")

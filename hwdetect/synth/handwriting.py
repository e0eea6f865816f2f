"""Handwritten lines: a writer style per page, words drawn from vector script fonts (Hershey, stroke by stroke) or
handwriting TTF fonts, each word with its own size, baseline and spacing wobble, then slanted and inked.

A line is drawn into its own alpha layer first, so its box comes from the ink actually on the page.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from HersheyFonts import HersheyFonts
from PIL import Image, ImageDraw, ImageFont

from hwdetect.config.registry import HERSHEY_HANDS, TTF_HANDS

CORPUS = Path(__file__).with_name("corpus.txt")
HERSHEY_BASELINE, HERSHEY_CAP = 9.0, 21.0  # font units: baseline y, cap height (cap line at y = -12)
TTF_EM = 1.6  # TTF font size (em) per unit of writer size, so TTF and Hershey letters come out alike
INK_THRESHOLD = 64  # alpha (0-255) from which a layer pixel counts as ink for the box


@dataclass(frozen=True)
class Writer:
    hand: str          # a name from registry.HANDS
    size: float        # x-height-ish letter size in pixels (Hershey cap height, TTF em / 2)
    slant: float       # horizontal shear per pixel of height (positive leans right)
    pen: int           # stroke width in pixels (Hershey hands)
    ink: int           # grey level of the ink: black, blue and pencil differ in grey
    alpha: float       # pen pressure: how opaque the ink is
    word_gap: float    # typical space between words, in sizes
    gap_spread: float  # how much the gaps vary within the page (sigma of a log-normal factor)
    tracking: float    # extra space between letters, in sizes: > 0 writes disconnected, print-like letters
    case: str          # "as-is", "capitals" (some words capitalised) or "upper" (block capitals)
    jitter: float      # per-word size and position wobble, as a fraction of the size


CASES = ("as-is", "capitals", "upper")
MAX_GAP = 3.5  # widest gap between two words of one line, in sizes


def random_writer(rng: np.random.Generator, size: float, hands: list[str]) -> Writer:
    """A writer style. Gaps: 40 % of writers leave wide gaps (1 to 3 sizes) between words, as many real hands do."""
    pencil = rng.random() < 0.15
    return Writer(
        hand=hands[rng.integers(len(hands))], size=size, slant=rng.uniform(-0.12, 0.45),
        pen=int(rng.choice([1, 2, 3], p=[0.5, 0.4, 0.1])),
        ink=int(rng.integers(70, 130) if pencil else rng.integers(0, 80)),
        alpha=rng.uniform(0.55, 0.85) if pencil else rng.uniform(0.85, 1.0),
        word_gap=rng.uniform(1.0, 3.0) if rng.random() < 0.4 else rng.uniform(0.35, 0.9),
        gap_spread=rng.uniform(0.1, 0.45), tracking=rng.uniform(0.05, 0.25) if rng.random() < 0.25 else 0.0,
        case=CASES[rng.choice(3, p=[0.7, 0.2, 0.1])], jitter=rng.uniform(0.02, 0.08))


def styled(rng: np.random.Generator, w: Writer, words: list[str]) -> list[str]:
    """Words in the writer's case: as they are, some capitalised, or all in block capitals."""
    if w.case == "upper":
        return [word.upper() for word in words]
    if w.case == "capitals":
        return [word.capitalize() if rng.random() < 0.4 else word for word in words]
    return words


@lru_cache(maxsize=None)
def corpus_words() -> tuple[str, ...]:
    return tuple(CORPUS.read_text().split())


def words_from(rng: np.random.Generator, count: int) -> list[str]:
    """Consecutive words of real English from a random place in the corpus."""
    words = corpus_words()
    start = int(rng.integers(len(words)))
    return [words[(start + i) % len(words)] for i in range(count)]


@lru_cache(maxsize=None)
def _hershey(face: str) -> HersheyFonts:
    font = HersheyFonts()
    font.load_default_font(face)
    return font


@lru_cache(maxsize=8192)
def _hershey_word(face: str, word: str) -> tuple[np.ndarray, ...]:
    """Strokes of a word in font units, baseline at y = 0, y pointing down."""
    strokes = _hershey(face).strokes_for_text(word)
    return tuple(np.array(s, np.float32) - (0.0, HERSHEY_BASELINE) for s in strokes if len(s) > 1)


@lru_cache(maxsize=256)
def _ttf(name: str, size: int) -> ImageFont.FreeTypeFont:
    package, file = TTF_HANDS[name]
    folder = Path(importlib.import_module(package).__file__).parent / "files"
    return ImageFont.truetype(str(folder / file), size)


def _draw_word(canvas: np.ndarray, w: Writer, word: str, x: float, baseline: float, scale: float,
               rng: np.random.Generator) -> float:
    """Draw one word into the alpha canvas (in place); return its advance width."""
    if w.hand in HERSHEY_HANDS:
        s = w.size * scale / HERSHEY_CAP
        strokes = _hershey_word(HERSHEY_HANDS[w.hand], word)
        for st in strokes:
            p = st * s + (x, baseline) + rng.normal(0, 0.25, st.shape).astype(np.float32)
            cv2.polylines(canvas, [np.round(p * 4).astype(np.int32)], False, 255, w.pen, cv2.LINE_AA, shift=2)
        return max((float(st[:, 0].max()) for st in strokes), default=0.0) * s
    font = _ttf(w.hand, max(6, round(w.size * scale * TTF_EM)))
    left, top, right, bottom = font.getbbox(word, anchor="ls")
    x0, y0 = int(x) + left - 1, int(baseline) + top - 1
    word_img = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(word_img).text((x - x0, baseline - y0), word, fill=255, font=font, anchor="ls")
    patch = np.asarray(word_img)
    h, wd = canvas.shape
    cy0, cx0 = max(y0, 0), max(x0, 0)
    cy1, cx1 = min(y0 + patch.shape[0], h), min(x0 + patch.shape[1], wd)
    if cy1 > cy0 and cx1 > cx0:
        region = canvas[cy0:cy1, cx0:cx1]
        np.maximum(region, patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0], out=region)
    return text_length(font, word)


def draw_line(page: np.ndarray, rng: np.random.Generator, w: Writer, words: list[str], x0: float,
              baseline: float, x_max: float) -> tuple[np.ndarray | None, int]:
    """Write words from x0 towards x_max on the page (in place).

    Returns the ink pixels' coordinates (N×2, x y) for the box, or None when nothing was drawn, and the number of
    words used.
    """
    h, wd = page.shape
    slope = float(np.clip(rng.normal(0, 0.01), -0.025, 0.025))  # an uneven baseline: the line climbs or sinks
    rise = abs(slope) * max(x_max - x0, 0)
    top, bottom = int(max(0, baseline - 3 * w.size - rise)), int(min(h, baseline + 2.5 * w.size + rise))
    if bottom - top < 4:
        return None, 0
    layer = np.zeros((bottom - top, wd), np.uint8)
    drift_amp, drift_freq, phase = w.size * rng.uniform(0, 0.2), rng.uniform(0.002, 0.01), rng.uniform(0, 6.3)
    x, used, extents = x0, 0, []
    for word in words:
        scale = 1 + rng.normal(0, w.jitter)
        y = (baseline - top + slope * (x - x0) + drift_amp * np.sin(drift_freq * x + phase)
             + rng.normal(0, w.jitter * w.size * 0.5))
        probe = _word_width(w, word, scale)
        if x + probe > x_max and used:
            break
        advance = _write_word(layer, w, word, x, y, scale, rng)
        extents.append((x, x + advance, y))
        used += 1
        x += advance + w.size * min(w.word_gap * rng.lognormal(0, w.gap_spread), MAX_GAP)
    if extents and rng.random() < 0.04:  # a crossed-out word belongs to the line too
        a, b, y = extents[int(rng.integers(len(extents)))]
        cv2.line(layer, (int(a - 2), int(y - w.size * 0.4)), (int(b + 2), int(y - w.size * 0.3)), 255,
                 max(1, w.pen), cv2.LINE_AA)
    alpha = layer.astype(np.float32) / 255
    # Slant: shear around the baseline, so the letters lean without the line moving.
    shear = np.float32([[1, -w.slant, w.slant * (baseline - top)], [0, 1, 0]])
    alpha = cv2.warpAffine(alpha, shear, (wd, bottom - top), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(alpha * 255 > INK_THRESHOLD)
    if len(xs) == 0:
        return None, used
    a = alpha * w.alpha
    region = page[top:bottom].astype(np.float32)
    page[top:bottom] = np.round(region * (1 - a) + w.ink * a).astype(np.uint8)
    return np.stack([xs, ys + top], axis=1).astype(np.float32), used


def _write_word(canvas: np.ndarray, w: Writer, word: str, x: float, baseline: float, scale: float,
                rng: np.random.Generator) -> float:
    """Draw a word, letter by letter with the writer's tracking when it has one; return its advance width."""
    if not w.tracking:
        return _draw_word(canvas, w, word, x, baseline, scale, rng)
    start = x
    for letter in word:
        x += _draw_word(canvas, w, letter, x, baseline, scale, rng) + w.tracking * w.size * scale
    return x - start


def _word_width(w: Writer, word: str, scale: float) -> float:
    if not w.tracking:
        return _advance(w, word, scale)
    return sum(_advance(w, letter, scale) + w.tracking * w.size * scale for letter in word)


def _advance(w: Writer, word: str, scale: float) -> float:
    if w.hand in HERSHEY_HANDS:
        strokes = _hershey_word(HERSHEY_HANDS[w.hand], word)
        return max((float(st[:, 0].max()) for st in strokes), default=0.0) * w.size * scale / HERSHEY_CAP
    return text_length(_ttf(w.hand, max(6, round(w.size * scale * TTF_EM))), word)


@lru_cache(maxsize=65536)
def text_length(font: ImageFont.FreeTypeFont, word: str) -> float:
    """Advance width of a word in a font, cached: pages measure the same words again and again."""
    return font.getlength(word)

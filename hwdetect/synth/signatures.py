"""Signatures and ticks: handwriting that is not a line of words. One box each, from the ink drawn.

A signature is a name in a script face (often with a flourish under or through it) or a scribble of loops; a tick is a
check mark or a cross in a box.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from hwdetect.synth.handwriting import INK_THRESHOLD, Writer, draw_line, words_from
from hwdetect.synth.printer import Slot


def _stroke(page: np.ndarray, points: np.ndarray, w: Writer, pen: int) -> np.ndarray | None:
    """Ink a polyline onto the page (in place); return its ink pixels (N×2, x y)."""
    h, wd = page.shape
    x0, y0 = np.maximum(np.floor(points.min(0)).astype(int) - pen - 2, 0)
    x1, y1 = np.minimum(np.ceil(points.max(0)).astype(int) + pen + 3, (wd, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    layer = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((points - (x0, y0)) * 4).astype(np.int32)
    cv2.polylines(layer, [pts], False, 255, pen, cv2.LINE_AA, shift=2)
    a = layer.astype(np.float32) / 255 * w.alpha
    region = page[y0:y1, x0:x1].astype(np.float32)
    page[y0:y1, x0:x1] = np.round(region * (1 - a) + w.ink * a).astype(np.uint8)
    ys, xs = np.nonzero(layer > INK_THRESHOLD)
    return np.stack([xs + x0, ys + y0], axis=1).astype(np.float32) if len(xs) else None


def _scribble(rng: np.random.Generator, x0: float, baseline: float, size: float, length: float) -> np.ndarray:
    """A run of loops: a pen moving right while circling, as in a hurried signature."""
    t = np.linspace(0, 1, 240)
    turns, r = rng.uniform(3, 9), size * rng.uniform(0.25, 0.6)
    height = size * rng.uniform(0.6, 1.4) * (1 + 0.5 * np.sin(t * rng.uniform(2, 6) + rng.uniform(0, 6)))
    x = x0 + length * t + r * np.cos(2 * np.pi * turns * t)
    y = baseline - height * (0.5 + 0.5 * np.sin(2 * np.pi * turns * t + rng.uniform(0, 6)))
    return np.stack([x, y], axis=1) + rng.normal(0, 0.3, (len(t), 2))


def _flourish(rng: np.random.Generator, x0: float, x1: float, baseline: float, size: float) -> np.ndarray:
    """A swoosh under the name, or a stroke back through it."""
    t = np.linspace(0, 1, 80)
    y = baseline + size * rng.uniform(0.1, 0.5) - size * rng.uniform(0.0, 0.8) * np.sin(np.pi * t)
    return np.stack([x0 + (x1 - x0) * t, y], axis=1)


def draw_signature(page: np.ndarray, rng: np.random.Generator, writer: Writer, slot: Slot, faces: list[str],
                   scale: float) -> np.ndarray | None:
    """Sign on the slot (in place); return the ink of the whole signature, name and flourish together."""
    face = faces[rng.integers(len(faces))]
    size = slot.size * scale * rng.uniform(1.1, 1.8)
    w = dataclasses.replace(writer, size=size, word_gap=rng.uniform(0.2, 0.7), gap_spread=0.1, tracking=0.0,
                            case="as-is", slant=rng.uniform(0.0, 0.5), jitter=0.03,
                            ink=int(rng.integers(0, 90)), alpha=rng.uniform(0.85, 1.0))
    x0 = slot.x0 + rng.uniform(0, 0.3) * max(slot.x_max - slot.x0 - size * 6, 0)
    pen = int(rng.choice([1, 2, 3], p=[0.4, 0.45, 0.15]))
    parts = []
    if face == "scribble":
        length = min(size * rng.uniform(3, 8), max(slot.x_max - x0, size * 2))
        parts.append(_stroke(page, _scribble(rng, x0, slot.baseline, size, length), w, pen))
    else:
        w = dataclasses.replace(w, hand=face, pen=pen)
        first, last = (word.capitalize() for word in words_from(rng, 2))
        name = [first[0] + ".", last] if rng.random() < 0.5 else [first, last]
        if rng.random() < 0.2:
            name = [first[0] + last[0]]  # initials
        ink, _ = draw_line(page, rng, w, name, x0, slot.baseline, max(slot.x_max, x0 + size * 12))
        parts.append(ink)
    drawn = [p for p in parts if p is not None]
    if drawn and rng.random() < 0.45:
        xs = np.concatenate(drawn)[:, 0]
        parts.append(_stroke(page, _flourish(rng, xs.min() - size * rng.uniform(0, 1), xs.max() + size * rng.uniform(
            0, 1.5), slot.baseline, size), w, max(1, pen - 1)))
    drawn = [p for p in parts if p is not None]
    return np.concatenate(drawn) if drawn else None


def draw_tick(page: np.ndarray, rng: np.random.Generator, writer: Writer, slot: Slot) -> np.ndarray | None:
    """A check mark, or a cross, over the box whose bottom left corner is (x0, baseline)."""
    b, x, y = slot.size, slot.x0, slot.baseline
    if rng.random() < 0.75:
        pts = np.array([(x + 0.1 * b, y - 0.5 * b), (x + 0.4 * b, y - 0.05 * b), (x + 1.2 * b, y - 1.4 * b)])
        pts = pts + rng.normal(0, 0.06 * b, pts.shape)
        t = np.linspace(0, 1, 20)[:, None]
        line = np.concatenate([pts[0] + (pts[1] - pts[0]) * t, pts[1] + (pts[2] - pts[1]) * t])
        return _stroke(page, line, writer, max(1, writer.pen))
    a = _stroke(page, np.array([(x + 0.15 * b, y - 0.85 * b), (x + 0.85 * b, y - 0.15 * b)]), writer, writer.pen)
    c = _stroke(page, np.array([(x + 0.85 * b, y - 0.85 * b), (x + 0.15 * b, y - 0.15 * b)]), writer, writer.pen)
    drawn = [p for p in (a, c) if p is not None]
    return np.concatenate(drawn) if drawn else None

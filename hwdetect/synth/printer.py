"""Print on a page, the way real documents carry it: typeset, typewritten and dot-matrix text, letterheads with logos,
rules, boxes, tables and stamps. The Printer keeps a box of each printed line, word group, stamp and logo it draws
(`printed`, the print class of the labels); layouts say where handwriting goes with Slots.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hwdetect.config.registry import MONO_FONTS, PRINT_FONTS
from hwdetect.synth.handwriting import text_length, words_from

MPL_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
STYLES = ("plain", "typewriter", "dotmatrix")
STAMP_WORDS = ("RECEIVED", "PAID", "APPROVED", "COPY", "CONFIDENTIAL", "FILED", "ENTERED", "VOID", "ORIGINAL")


@dataclass(frozen=True)
class Slot:
    x0: float        # where the handwriting starts
    baseline: float
    x_max: float     # where it must stop
    size: float      # letter size in pixels
    words: int       # at most this many words
    kind: str = "line"           # line (handwritten words), signature, or tick: each is one box
    text: tuple[str, ...] = ()   # the words to write (a date, an amount); empty = running text


@lru_cache(maxsize=512)
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    package, file = PRINT_FONTS[name]
    folder = MPL_FONTS if package is None else Path(importlib.import_module(package).__file__).parent / "files"
    return ImageFont.truetype(str(folder / file), max(6, size))


class Printer:
    """Draws print on a page with the page's fonts, in one print style per page (a document comes from one machine)."""

    def __init__(self, page: Image.Image, rng: np.random.Generator, fonts: list[str]):
        self.page, self.draw, self.rng, self.fonts = page, ImageDraw.Draw(page), rng, fonts
        self.w, self.h = page.size
        self.printed: list[tuple[float, float, float, float]] = []  # x0, y0, x1, y1 of what was printed
        mono = [f for f in fonts if f in MONO_FONTS]
        self.style = STYLES[rng.choice(3, p=[0.6, 0.25, 0.15])] if mono else "plain"
        self.body = mono[rng.integers(len(mono))] if self.style != "plain" else self.pick()

    def pick(self) -> str:
        return self.fonts[self.rng.integers(len(self.fonts))]

    def ink(self) -> int:
        return int(self.rng.integers(0, 60))

    def mark(self, box) -> None:
        """Keep the box of something printed (clipped to the page later, by the scan)."""
        x0, y0, x1, y1 = map(float, box)
        if x1 - x0 > 1 and y1 - y0 > 1:
            self.printed.append((x0, y0, x1, y1))

    def text(self, xy: tuple[float, float], text: str, size: float, name: str | None = None, bold: bool = False,
             style: str = "plain", record: bool = True):
        f = font(name or self.pick(), int(size))
        if record and text.strip():
            self.mark(self.draw.textbbox(xy, text, font=f, stroke_width=int(bold)))
        if style == "typewriter":
            return self._typewriter(xy, text, f)
        if style == "dotmatrix":
            return self._dot_matrix(xy, text, f)
        self.draw.text(xy, text, fill=self.ink(), font=f, stroke_width=int(bold),
                       stroke_fill=self.ink() if bold else None)

    def body_text(self, xy: tuple[float, float], text: str, size: float) -> None:
        """Text in the page's own body face and style (typeset, typewritten or dot-matrix)."""
        self.text(xy, text, size, self.body, style=self.style)

    def _typewriter(self, xy, text: str, f: ImageFont.FreeTypeFont) -> None:
        """Letter by letter: each key strikes a little high or low, hard or soft, as on a typewriter."""
        x, y = xy
        base, size = self.ink(), f.size
        for ch in text:
            if ch != " ":
                fill = int(np.clip(base + self.rng.normal(0, 25), 0, 150))
                self.draw.text((x + self.rng.normal(0, 0.03 * size), y + self.rng.normal(0, 0.05 * size)), ch,
                               fill=fill, font=f)
            x += f.getlength(ch)

    def _dot_matrix(self, xy, text: str, f: ImageFont.FreeTypeFont) -> None:
        """The text sampled on a grid of round dots, as a dot-matrix printer makes it."""
        left, top, right, bottom = f.getbbox(text)
        if right <= left or bottom <= top:
            return
        mask = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        ImageDraw.Draw(mask).text((-left + 1, -top + 1), text, fill=255, font=f)
        cell = max(2, round(f.size / 8))
        m = np.asarray(mask)
        cells = cv2.resize(m, (max(1, m.shape[1] // cell), max(1, m.shape[0] // cell)), interpolation=cv2.INTER_AREA)
        on = np.kron((cells > 70).astype(np.uint8), np.ones((cell, cell), np.uint8))
        yy, xx = np.mgrid[:cell, :cell]
        dot = (((yy - (cell - 1) / 2) ** 2 + (xx - (cell - 1) / 2) ** 2) <= (cell * 0.55) ** 2).astype(np.uint8)
        dots = on * np.tile(dot, (on.shape[0] // cell, on.shape[1] // cell)) * 255
        self.page.paste(self.ink() + 30, (int(xy[0] + left), int(xy[1] + top)), Image.fromarray(dots))

    def type_in(self, slot: Slot) -> None:
        """Type a written field's words (or a few running words) on its line in the page's body face."""
        words = list(slot.text) or words_from(self.rng, int(self.rng.integers(1, slot.words + 1)))
        size = slot.size * self.rng.uniform(0.7, 1.1)
        typed = [w.upper() for w in words] if self.rng.random() < 0.3 else words
        line = self.fill_line(slot.x0, slot.x_max, font(self.body, int(size)), typed) or words[0]
        self.body_text((slot.x0, slot.baseline - size * 0.8), line, size)

    def fill_line(self, x: float, x_max: float, f: ImageFont.FreeTypeFont, words: list[str]) -> str:
        line, width, space = [], -f.getlength(" "), f.getlength(" ")
        while words and width + space + text_length(f, words[0]) <= x_max - x:
            width += space + text_length(f, words[0])
            line.append(words.pop(0))
        return " ".join(line)

    def paragraph(self, x: float, y: float, x_max: float, lines: int, size: float, name: str | None = None,
                  style: str = "plain", leading: tuple[float, float] = (1.25, 1.6)) -> float:
        """Typeset lines of real text between x and x_max, ragged or (typeset print, half the time) justified; return
        the y below them."""
        name, bold = name or self.pick(), style == "plain" and self.rng.random() < 0.25
        justify = style == "plain" and self.rng.random() < 0.5
        f, words = font(name, int(size)), words_from(self.rng, lines * 25)
        pitch = size * self.rng.uniform(*leading)
        for i in range(lines):
            line = self.fill_line(x, x_max, f, words)
            last = i == lines - 1
            if last and self.rng.random() < 0.7:  # a paragraph's short last line
                line = " ".join(line.split()[: max(1, int(len(line.split()) * self.rng.uniform(0.2, 0.8)))])
            if justify and not last and len(line.split()) > 1:
                self.justified(x, y, x_max, line.split(), f, size, name, bold)
            else:
                self.text((x, y), line, size, name, bold, style)
            y += pitch
        return y

    def justified(self, x: float, y: float, x_max: float, words: list[str], f: ImageFont.FreeTypeFont, size: float,
                  name: str, bold: bool) -> None:
        """One line stretched from x to x_max: the spare room shared out between the words."""
        gap = (x_max - x - sum(text_length(f, w) for w in words)) / (len(words) - 1)
        top, bottom = self.draw.textbbox((x, y), " ".join(words), font=f, stroke_width=int(bold))[1::2]
        self.mark((x, top, x_max, bottom))
        for word in words:
            self.text((x, y), word, size, name, bold, record=False)
            x += text_length(f, word) + gap

    def rule(self, y: float, x0: float = 0.0, x1: float | None = None, grey: int | None = None) -> None:
        grey = int(self.rng.integers(0, 120)) if grey is None else grey
        self.draw.line([(x0, y), (self.w if x1 is None else x1, y)], fill=grey, width=max(1, self.w // 500))

    def box(self, x0: float, y0: float, x1: float, y1: float, grey: int = 60, width: int = 1) -> None:
        self.draw.rectangle([x0, y0, x1, y1], outline=grey, width=width)

    def logo(self, x: float, y: float, size: float) -> float:
        """An emblem: a filled or ringed disc, a shield or bars, often with initials; returns its width."""
        kind, grey = int(self.rng.integers(4)), int(self.rng.integers(0, 110))
        d = self.draw
        self.mark((x, y, x + size, y + size))
        if kind == 0:
            d.ellipse([x, y, x + size, y + size], fill=grey)
            initials = "".join(w[0].upper() for w in words_from(self.rng, 2))
            f = font(self.pick(), int(size * 0.45))
            d.text((x + size / 2, y + size / 2), initials, fill=235, font=f, anchor="mm")
        elif kind == 1:
            for r in np.linspace(size / 2, size / 6, int(self.rng.integers(2, 5))):
                d.ellipse([x + size / 2 - r, y + size / 2 - r, x + size / 2 + r, y + size / 2 + r], outline=grey,
                          width=max(1, int(size / 14)))
        elif kind == 2:
            d.polygon([(x, y), (x + size, y), (x + size, y + size * 0.6), (x + size / 2, y + size),
                       (x, y + size * 0.6)], fill=grey)
        else:
            for i in range(4):
                top = y + size * (1 - (i + 1) / 4)
                d.rectangle([x + i * size / 4, top, x + (i + 0.8) * size / 4, y + size], fill=grey)
        return size

    def headline(self, x: float, y: float, u: float) -> float:
        """A large bold title or figure (INVOICE, a total, a year), as forms and receipts print them; returns its
        height."""
        words = words_from(self.rng, int(self.rng.integers(1, 3)))
        kind = self.rng.integers(3)
        figure = f"{self.rng.uniform(1, 9999):,.2f}" if self.rng.random() < 0.5 else str(self.rng.integers(1900, 2040))
        text = (" ".join(words).upper(), " ".join(w.capitalize() for w in words), figure)[kind]
        size = u * self.rng.uniform(3, 7)
        self.text((x, y), text, size, bold=self.rng.random() < 0.6)
        return size * 1.3

    def letterhead(self, x: float, y: float, x_max: float, u: float) -> float:
        """Logo, a bold name in a large face, an address line; returns the y below it."""
        size = u * self.rng.uniform(5, 9)
        if self.rng.random() < 0.7:
            x += self.logo(x, y, size) + u * 2
        name = " ".join(w.capitalize() for w in words_from(self.rng, int(self.rng.integers(1, 4))))
        self.text((x, y), name.upper() if self.rng.random() < 0.4 else name, size * 0.5, bold=True)
        self.text((x, y + size * 0.6), " ".join(words_from(self.rng, 7)), u * 1.4)
        return y + size + u * 2

    def stamp(self, cx: float, cy: float, size: float) -> None:
        """A rubber stamp, rotated, in a lighter ink: a framed word, often with a date."""
        word = STAMP_WORDS[self.rng.integers(len(STAMP_WORDS))]
        f = font(self.pick(), int(size))
        w = int(f.getlength(word)) + int(size)
        img = Image.new("L", (w, int(size * 2.6)), 0)
        d = ImageDraw.Draw(img)
        d.rectangle([2, 2, w - 3, img.size[1] - 3], outline=255, width=max(1, int(size / 8)))
        d.text((w / 2, size * 0.9), word, fill=255, font=f, anchor="mm")
        date = f"{self.rng.integers(1, 29)} {self.rng.integers(1, 13):02d} 20{self.rng.integers(10, 30)}"
        d.text((w / 2, size * 1.9), date, fill=255, font=font(self.pick(), int(size * 0.6)), anchor="mm")
        img = img.rotate(float(self.rng.uniform(-20, 20)), expand=True)
        left, top = int(cx - img.size[0] / 2), int(cy - img.size[1] / 2)
        self.page.paste(int(self.rng.integers(60, 150)), (left, top), img)
        x0, y0, x1, y1 = img.getbbox() or (0, 0, 0, 0)
        self.mark((left + x0, top + y0, left + x1, top + y1))

    def table(self, x0: float, y: float, x1: float, rows: int, cols: int, row_h: float, size: float) -> float:
        """A ruled table of printed words and figures; returns the y below it."""
        xs = np.linspace(x0, x1, cols + 1)
        for r in range(rows + 1):
            self.rule(y + r * row_h, x0, x1, grey=60)
        for x in xs:
            self.draw.line([(x, y), (x, y + rows * row_h)], fill=60, width=1)
        for r in range(rows):
            for c in range(cols):
                cell = (words_from(self.rng, 1)[0].capitalize() if c == 0 or r == 0
                        else f"{self.rng.uniform(1, 999):.2f}")
                self.text((xs[c] + size * 0.4, y + r * row_h + (row_h - size) / 2), cell, size, self.body,
                          bold=r == 0)
        return y + rows * row_h

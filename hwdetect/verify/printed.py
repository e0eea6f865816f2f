"""Print the way documents print their short items, as extra print crops for the verifier's training.

A page of the generator holds mostly running text; the boxes a detector puts on real print are more often short
items: an address in capitals, an amount, a date and time, a phone number, a reference code, a name in title case,
a form label, a blank date field (`__/__/____`, `mm dd yy`), receipt lines with spaced letters, an entry with its underline or cell border, two short lines in one
box. Each crop is one such item, printed alone with the page's fonts and print styles (typeset, typewriter,
dot-matrix, bold) at a size from a web copy's to a scan's, then cut out as a detected box is (crops.normalise, with
the training jitter and worn copies).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from hwdetect.synth.handwriting import words_from
from hwdetect.synth.printer import Printer
from hwdetect.verify.crops import normalise

SIZE = (10.0, 48.0)   # text size in pixels
SPACED = 0.15         # share of items printed with a space between letters (till receipts)
BOLD = 0.25
STYLES = ("plain", "typewriter", "dotmatrix"), (0.75, 0.15, 0.1)  # on a page whose fonts allow them
DATE_TEMPLATES = ("__/__/____", "___/___/___", "  /   /  ", "   /    /    ", "MM/DD/YYYY", "mm/dd/yy", "(MM/DD/YY)",
                  "mm dd yy", "MM  DD  YYYY", "__ __ ____")  # blank date fields of printed forms
UNDERLINE, CELL, TWO_LINES = 0.15, 0.15, 0.15  # shares of items with a rule under them, a border, a second line


def item(rng: np.random.Generator) -> str:
    """One short printed item: address, amount, date and time, phone number, code, name or label, a phrase, or a
    blank date field."""
    kind = int(rng.integers(8))
    if kind == 7:
        return str(rng.choice(DATE_TEMPLATES))
    if kind == 0:
        return f"{rng.integers(1, 9999)} " + " ".join(w.upper() for w in words_from(rng, int(rng.integers(1, 4))))
    if kind == 1:
        return f"${rng.integers(1, 99999):,}.{rng.integers(100):02d}"
    if kind == 2:
        date = f"{rng.integers(1, 13):02d}/{rng.integers(1, 29):02d}/{rng.integers(1990, 2030)}"
        return date + (f"  {rng.integers(1, 13)}:{rng.integers(60):02d} PM" if rng.random() < 0.5 else "")
    if kind == 3:
        return f"({rng.integers(200, 999)}) {rng.integers(200, 999)}-{rng.integers(1000, 9999)}"
    if kind == 4:
        letters = "".join(chr(65 + int(c)) for c in rng.integers(26, size=int(rng.integers(1, 4))))
        return letters + str(rng.integers(10, 99999))
    if kind == 5:
        zip_code = f", {rng.integers(10000, 99999)}" if rng.random() < 0.3 else ""
        return " ".join(w.capitalize() for w in words_from(rng, int(rng.integers(1, 5)))) + zip_code
    return " ".join(words_from(rng, int(rng.integers(2, 7)))) + (":" if rng.random() < 0.3 else "")


def printed_crops(seed: int, index: int, fonts: list[str], width: int, count: int) -> list[np.ndarray]:
    """`count` crops of short printed items for training page `index` rendered `width` pixels wide (label print),
    seeded by (seed, index, width): the same arguments give the same crops."""
    rng = np.random.default_rng([seed, index, width, 1])
    crops = []
    for _ in range(count):
        size, text = float(rng.uniform(*SIZE)), item(rng)
        if rng.random() < SPACED:
            text = " ".join(text)
        canvas = Image.new("L", (int(size * (len(text) * 0.8 + 6)), int(size * 4)), int(rng.integers(205, 256)))
        p = Printer(canvas, rng, fonts)
        style = STYLES[0][rng.choice(3, p=STYLES[1])] if p.style != "plain" else "plain"
        name = p.body if style != "plain" else p.pick()
        p.text((size, size), text, size, name, bold=rng.random() < BOLD, style=style)
        if not p.printed:
            continue
        x0, y0, x1, y1 = p.printed[0]
        extra = rng.random()
        if extra < UNDERLINE:
            p.rule(y1 + size * 0.15, x0 - size * 0.3, x1 + size * 0.3)
        elif extra < UNDERLINE + CELL:
            p.box(x0 - size * 0.3, y0 - size * 0.3, x1 + size * 0.3, y1 + size * 0.3)
        elif extra < UNDERLINE + CELL + TWO_LINES:
            p.text((x0, y1 + size * 0.35), item(rng), size, name)
            x1, y1 = max(x1, p.printed[-1][2]), p.printed[-1][3]
        crop = normalise(np.array(canvas), (x0, y0, x1, y1), rng)
        if crop is not None:
            crops.append(crop)
    return crops

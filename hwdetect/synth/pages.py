"""Render one synthetic document page: a layout's printed parts (a print box per printed line, stamp or logo) and its
handwriting (one box per line, signature or tick, from the ink drawn), then scanner or camera artefacts. Also the
contact sheet of sample pages.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from hwdetect.config.registry import LAYOUTS
from hwdetect.synth.documents import DOCUMENTS
from hwdetect.synth.handwriting import draw_line, random_writer, styled, words_from
from hwdetect.synth.layouts import LAYOUTS as FORMS
from hwdetect.synth.printer import Printer, Slot
from hwdetect.synth.scan import photocopy, scan
from hwdetect.synth.signatures import draw_signature, draw_tick

DRAWERS = {**FORMS, **DOCUMENTS}
if (differ := set(DRAWERS) ^ set(LAYOUTS) ^ {"print_only"}):
    raise ImportError(f"layouts of hwdetect/config/registry.py and of hwdetect/synth differ: {differ}")
# Page height over width, where a document kind has its own shape (Letter to A4 portrait, a cheque's strip).
ASPECT = {"letter": (1.29, 1.42), "typed_letter": (1.29, 1.42), "cheque": (0.42, 0.48), "receipt": (1.2, 1.5)}
PHOTOCOPIED = 0.2  # share of pages whose print is a worn photocopy (handwriting added on the copy)
TYPED_FIELDS, TYPED_LAYOUTS = 0.7, ("form_fill", "cheque", "receipt")  # of a page filled in by machine: fields typed


@dataclass(frozen=True)
class PageSpec:
    width: int
    height: int
    lines: tuple[int, int]           # fewest and most handwritten lines in the main text block
    layouts: dict[str, float]        # layout name → weight
    hands: tuple[str, ...]           # handwriting faces to pick writers from
    print_fonts: tuple[str, ...]     # printed faces
    signatures: tuple[str, ...] = ("scribble",)  # signature faces (registry.SIGNATURE_FACES)
    writer_ranges: tuple[tuple[str, float, float], ...] = ()  # (Writer field, low, high): styles forced into a range
    typed_fill: float = 0.0          # share of TYPED_LAYOUTS pages filled in by machine (type_fields)


def render_page(seed: int, index: int, spec: PageSpec) -> tuple[np.ndarray, list, list]:
    """Page `index` of the set seeded by `seed`: the grey image, its handwriting boxes [(x0, y0, x1, y1)] and its
    print boxes."""
    rng = np.random.default_rng([seed, index])
    names = sorted(spec.layouts)
    weights = np.array([spec.layouts[n] for n in names], float)
    layout = names[rng.choice(len(names), p=weights / weights.sum())]
    print_only = layout == "print_only"
    if print_only:  # any document, its handwriting left out
        layout = sorted(DRAWERS)[rng.integers(len(DRAWERS))]
    low, high = ASPECT.get(layout, (spec.height / spec.width,) * 2)
    page = Image.new("L", (spec.width, round(spec.width * rng.uniform(low, high))), int(rng.integers(205, 256)))
    printer = Printer(page, rng, list(spec.print_fonts))
    slots = DRAWERS[layout](printer, spec.lines)
    if layout in TYPED_LAYOUTS and rng.random() < spec.typed_fill:
        slots = type_fields(printer, slots)
    img = np.array(page)
    if rng.random() < PHOTOCOPIED:
        img = photocopy(img, rng)
    writer = random_writer(rng, 1.0, list(spec.hands))
    for field, low, high in spec.writer_ranges:
        writer = dataclasses.replace(writer, **{field: rng.uniform(low, high)})
    scale = rng.uniform(0.8, 1.25)  # small and large hands for the same layout
    text, inks = styled(rng, writer, words_from(rng, 600)), []
    for slot in [] if print_only else slots:
        w = dataclasses.replace(writer, size=slot.size * scale)
        if slot.kind == "signature":
            ink = draw_signature(img, rng, writer, slot, list(spec.signatures), scale)
        elif slot.kind == "tick":
            ink = draw_tick(img, rng, w, slot)
        else:
            baseline = slot.baseline + rng.normal(0, 0.12 * w.size)  # uneven line spacing
            words = styled(rng, writer, list(slot.text)) if slot.text else text[: slot.words]
            ink, used = draw_line(img, rng, w, words, slot.x0, baseline, slot.x_max)
            if not slot.text:
                text = text[max(used, 1):] or styled(rng, writer, words_from(rng, 600))
        if ink is not None:
            inks.append(ink)
    return scan(img, rng, inks, pad=0.5, printed=printer.printed)


def type_fields(p: Printer, slots: list[Slot]) -> list[Slot]:
    """Type most written fields (not signatures or ticks), as a computer or typewriter fills a form; return the slots
    left for handwriting."""
    left = []
    for slot in slots:
        if slot.kind != "line" or p.rng.random() > TYPED_FIELDS:
            left.append(slot)
        else:
            p.type_in(slot)
    return left


def contact_sheet(pages: list[tuple[np.ndarray, list, list]], columns: int = 4, tile_width: int = 320) -> np.ndarray:
    """A grid of pages with their handwriting boxes drawn in red and print boxes in blue, for people to look at the
    data."""
    tiles = []
    for img, boxes, printed in pages:
        colour = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        for kind, colour_bgr, width in ((printed, (255, 120, 0), 1), (boxes, (0, 0, 255), 2)):
            for x0, y0, x1, y1 in kind:
                cv2.rectangle(colour, (round(x0), round(y0)), (round(x1), round(y1)), colour_bgr, width)
        f = tile_width / img.shape[1]
        tiles.append(cv2.resize(colour, (tile_width, round(img.shape[0] * f)), interpolation=cv2.INTER_AREA))
    height = max(t.shape[0] for t in tiles)
    tiles = [cv2.copyMakeBorder(t, 4, 4 + height - t.shape[0], 4, 4, cv2.BORDER_CONSTANT, value=(255, 255, 255))
             for t in tiles]
    tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)

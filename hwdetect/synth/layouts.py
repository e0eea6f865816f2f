"""Page layouts: the printed parts of a page (labelled as print by the Printer) and the slots where handwriting goes.

Each layout draws its print on a grey PIL page and returns slots; a slot becomes one handwritten line, so one box.
More document kinds (typed letters, cheques, receipts) are in documents.py.
"""
from __future__ import annotations

import numpy as np

from hwdetect.synth.handwriting import words_from
from hwdetect.synth.printer import Printer, Slot, font


def iam_form(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """IAM-like: header, rule, printed prompt, rule, 5-11 handwritten lines, sometimes the footer."""
    u, m = p.h / 100, p.w * p.rng.uniform(0.06, 0.12)
    y = u * p.rng.uniform(3, 7)
    p.text((m, y), "Sentence Database", u * p.rng.uniform(2, 3), "dejavu-sans-bold")
    p.text((p.w * 0.7, y), f"{chr(65 + p.rng.integers(26))}{p.rng.integers(1, 99):02d}-{p.rng.integers(999):03d}",
           u * 2.2)
    y += u * 5
    p.rule(y, m / 2, p.w - m / 2)
    y = p.paragraph(m, y + u * 2, p.w - m, int(p.rng.integers(2, 7)), u * p.rng.uniform(1.6, 2.8)) + u * 2
    p.rule(y, m / 2, p.w - m / 2)
    footer = p.h - u * p.rng.uniform(6, 10) if p.rng.random() < 0.5 else p.h - u
    if footer < p.h - u:
        p.rule(footer, m / 2, p.w - m / 2)
        p.text((m, footer + u), "Name:", u * 1.8, "dejavu-sans")
    n = int(p.rng.integers(lines[0], lines[1] + 1))
    top = y + u * 3
    pitch = min((footer - u * 2 - top) / n, u * p.rng.uniform(4.5, 8))
    size = pitch * p.rng.uniform(0.42, 0.6)
    return [Slot(m * p.rng.uniform(0.5, 1.3), top + pitch * (i + 0.7), p.w - m * p.rng.uniform(0.4, 1.2), size, 30)
            for i in range(n)]


def notebook(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """Lined paper with a margin rule; handwriting sits on the printed lines, some left empty."""
    u = p.h / 100
    pitch = u * p.rng.uniform(4, 6.5)
    margin = p.w * p.rng.uniform(0.08, 0.16)
    y0 = u * p.rng.uniform(8, 14)
    grey = int(p.rng.integers(140, 200))
    rules = np.arange(y0, p.h - u * 4, pitch)
    for y in rules:
        p.rule(float(y), grey=grey)
    p.draw.line([(margin, 0), (margin, p.h)], fill=int(p.rng.integers(100, 180)), width=max(1, p.w // 400))
    if p.rng.random() < 0.5:
        p.text((p.w - u * 8, p.h - u * 3.5), str(p.rng.integers(1, 200)), u * 1.8)
    start = int(p.rng.integers(0, 3))
    n = min(int(p.rng.integers(lines[0], lines[1] + 1)), len(rules) - start)
    size = pitch * p.rng.uniform(0.35, 0.5)
    return [Slot(margin + u * p.rng.uniform(0.5, 2), float(rules[start + i]) - u * 0.4,
                 p.w - u * p.rng.uniform(2, 12), size, 30) for i in range(n) if p.rng.random() > 0.1]


def letter(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """Printed letterhead and footer; handwritten date, greeting, body and closing."""
    u, m = p.h / 100, p.w * p.rng.uniform(0.08, 0.14)
    y = u * p.rng.uniform(3, 6)
    p.text((m, y), " ".join(w.capitalize() for w in words_from(p.rng, 3)), u * p.rng.uniform(2.5, 3.5), bold=True)
    y = p.paragraph(m, y + u * 4.5, p.w * 0.6, int(p.rng.integers(1, 4)), u * 1.4) + u
    p.rule(y, m, p.w - m)
    p.text((m, p.h - u * 4), " ".join(words_from(p.rng, 8)), u * 1.3)
    size = u * p.rng.uniform(1.8, 2.6)
    pitch = size * p.rng.uniform(2.1, 2.7)
    y += u * 4
    slots = [Slot(p.w * 0.6, y, p.w - m, size, 3), Slot(m, y + pitch * 1.5, p.w - m, size, 2)]
    y += pitch * 2.7
    for i in range(int(p.rng.integers(lines[0], lines[1] + 1))):
        if y + pitch > p.h - u * 8:
            break
        slots.append(Slot(m + (u * 3 if i == 0 else 0), y, p.w - m * p.rng.uniform(0.6, 1.2), size, 30))
        y += pitch
    if y + pitch < p.h - u * 6:
        slots.append(Slot(m + p.w * 0.3, y + pitch * 0.5, p.w - m, size, 3))
    return slots


FIELDS = ("Name", "First name", "Last name", "M.I.", "Address", "City", "State", "Zip", "County", "Date",
          "Date of birth", "Age", "Sex", "Phone", "Tel.", "E-mail", "Occupation", "Employer", "Policy no.", "Amount",
          "Relationship", "Apt.", "Remarks", "Signature")
SHORT = {"M.I.", "State", "Zip", "Age", "Sex", "Apt."}  # narrow fields: a letter or a number


def _entry(p: Printer, label: str) -> tuple[str, ...]:
    """What a person writes in a field: a date, a number, a letter, or words (empty = running text)."""
    if label.startswith("Date"):
        return (f"{p.rng.integers(1, 13)}/{p.rng.integers(1, 29)}/{p.rng.integers(1940, 2030)}",)
    if label in ("Phone", "Tel.", "Zip", "Age", "Apt.", "Policy no.", "Amount"):
        return (str(p.rng.integers(1, 10 ** int(p.rng.integers(1, 8)))),)
    if label in ("M.I.", "Sex", "State"):
        return (words_from(p.rng, 1)[0][:int(p.rng.integers(1, 3))].upper(),)
    return ()


def field_rows(p: Printer, y: float, m: float, size: float, face: str) -> tuple[list[Slot], float]:
    """Rows of one to four fields, each a printed label and a fill-in line (or a cell with its label in the corner,
    as boxed forms print them); every filled field is its own box, even beside its row's other entries. Returns the
    slots and the y below the rows."""
    u, boxed, slots = p.h / 100, p.rng.random() < 0.4, []
    label_size = u * p.rng.uniform(1.3, 1.8)
    label_font = font(face, int(label_size))
    pitch = u * p.rng.uniform(5, 7) if not boxed else size * p.rng.uniform(2.8, 3.4) + label_size * 1.2
    for _ in range(int(p.rng.integers(3, 9))):
        if y + pitch > p.h * 0.8:
            break
        n = int(p.rng.choice(4, p=[0.3, 0.35, 0.25, 0.1])) + 1
        labels = [FIELDS[i] for i in p.rng.choice(len(FIELDS), n, replace=False)]
        weights = np.array([0.5 if label in SHORT else p.rng.uniform(1, 2.5) for label in labels])
        edges = m + np.concatenate([[0], np.cumsum(weights / weights.sum())]) * (p.w - 2 * m)
        for label, a, b in zip(labels, edges[:-1], edges[1:]):
            if boxed:  # a cell: the label small in its corner, the entry below it
                p.box(a, y - pitch + size * 0.9, b, y + size * 0.9, grey=int(p.rng.integers(20, 110)))
                p.text((a + u * 0.6, y - pitch + size * 0.9 + u * 0.4), label.upper(), label_size * 0.8, face)
                x = a + u * 1.2
            else:
                text = label + (":" if p.rng.random() < 0.6 else "")
                p.text((a, y - label_size * 1.1), text, label_size, face)
                x = a + p.draw.textlength(text, font=label_font) + u
                p.rule(y + size * 0.8, x, b - u * 1.5, grey=int(p.rng.integers(0, 120)))
                x += u
            if b - u * 2 - x > size * 1.5 and p.rng.random() < 0.8:
                kind = "signature" if label == "Signature" else "line"
                slots.append(Slot(x, y, b - u * 2, size, int(p.rng.integers(1, 4)), kind, _entry(p, label)))
        y += pitch
    return slots, y


def form_fill(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """A printed form: title, rows of labelled fields with fill-in lines or cells, tick boxes, a grid table;
    handwriting fills fields and cells."""
    u, m = p.h / 100, p.w * p.rng.uniform(0.06, 0.1)
    y = u * p.rng.uniform(3, 6)
    p.text((m, y), " ".join(w.upper() for w in words_from(p.rng, 2)), u * p.rng.uniform(2.5, 3.5), bold=True)
    if p.rng.random() < 0.3:  # a large form number or year at the right, as tax forms print it
        p.headline(p.w * 0.62, y, u * 0.8)
    y = p.paragraph(m, y + u * 5, p.w - m, int(p.rng.integers(1, 3)), u * 1.5) + u * 5
    size = u * p.rng.uniform(1.6, 2.4)
    face = p.pick()
    slots, y = field_rows(p, y, m, size, face)
    if p.rng.random() < 0.5:  # tick boxes, some ticked
        box, x = u * 1.8, m
        for word in words_from(p.rng, int(p.rng.integers(2, 5))):
            p.box(x, y - box, x + box, y, grey=40)
            p.text((x + box * 1.5, y - box), word.capitalize(), u * 1.6, face)
            if p.rng.random() < 0.6:
                slots.append(Slot(x, y, x + box, box, 1, "tick"))
            x += box * 2.5 + p.draw.textlength(word, font=font(face, int(u * 1.6))) + u * 3
            if x > p.w - m - u * 10:
                break
        y += u * 5
    cols, row_h = int(p.rng.integers(2, 5)), u * p.rng.uniform(5, 7)
    xs = np.linspace(m, p.w - m, cols + 1)
    for r in range(int(p.rng.integers(2, 6))):
        top = y + r * row_h
        if top + row_h > p.h - u * 3:
            break
        p.rule(top, m, p.w - m, grey=60)
        for c in range(cols):
            if r == 0:
                p.text((xs[c] + u, top + u), words_from(p.rng, 1)[0].capitalize(), u * 1.6, bold=True)
            elif p.rng.random() < 0.7:
                slots.append(Slot(xs[c] + u, top + row_h * 0.62, xs[c + 1] - u, min(size, row_h * 0.3), 3))
    for x in xs:
        p.draw.line([(x, y), (x, min(top + row_h, p.h - u * 3))], fill=60, width=1)
    return slots


def margin_notes(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """A dense printed page with handwritten notes in the wide margin and between paragraphs."""
    u = p.h / 100
    left = p.rng.random() < 0.5
    margin = p.w * p.rng.uniform(0.22, 0.3)
    x0, x1 = (margin, p.w - u * 4) if left else (u * 4, p.w - margin)
    y, size, slots = u * 4, u * p.rng.uniform(1.4, 2.2), []
    while y < p.h - u * 15:
        y = p.paragraph(x0, y, x1, int(p.rng.integers(3, 8)), u * p.rng.uniform(1.3, 1.9), p.body, p.style) + u * 2.5
        if p.rng.random() < 0.3:
            slots.append(Slot(x0 + u * 2, y + u * 1.5, x1, size * 1.2, 12))
            y += u * 5
    note_x = (u * 2, margin - u * 2) if left else (p.w - margin + u * 2, p.w - u * 2)
    ny = u * p.rng.uniform(5, 20)
    for _ in range(int(p.rng.integers(2, 8))):
        if ny > p.h - u * 5:
            break
        slots.append(Slot(note_x[0], ny, note_x[1], size, 4))
        ny += size * p.rng.uniform(2.4, 6)
    return slots


LAYOUTS = {f.__name__: f for f in (iam_form, notebook, letter, form_fill, margin_notes)}

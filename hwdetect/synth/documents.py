"""Printed documents people write into: typed letters and memos with signatures and notes, cheques, and receipts.

Like layouts.py: each draws its print and returns the slots where handwriting goes (a slot is one box). Print comes in
the page's style (typeset, typewritten or dot-matrix), anywhere on the page, with letterheads, logos, rules, tables
and stamps.
"""
from __future__ import annotations

import numpy as np

from hwdetect.synth.handwriting import words_from
from hwdetect.synth.printer import Printer, Slot

MONTHS = ("Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec")


def _date(rng: np.random.Generator) -> tuple[str, ...]:
    d, m, y = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1960, 2030))
    if rng.random() < 0.5:
        return (f"{m}/{d}/{y % 100:02d}" if rng.random() < 0.5 else f"{d}.{m:02d}.{y}",)
    return (MONTHS[m - 1], f"{d},", str(y))


def _amount(rng: np.random.Generator) -> str:
    value = float(np.round(np.exp(rng.uniform(1, 9)), 2))
    return f"{value:,.2f}" if rng.random() < 0.7 else f"{int(value)}.--"


def typed_letter(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """A typed letter or memo: letterhead, date, address, justified paragraphs, a signature over the typed name; now
    and then a handwritten note in the margin or between paragraphs, initials, a stamp."""
    u, m = p.h / 100, p.w * p.rng.uniform(0.08, 0.15)
    size = u * p.rng.uniform(1.1, 1.7)  # the typed body: real letters have 40-60 lines a page
    y = p.letterhead(m, u * p.rng.uniform(2, 5), p.w - m, u) if p.rng.random() < 0.8 else u * 6
    if p.rng.random() < 0.5:
        p.rule(y, m, p.w - m)
        y += u * 2
    if p.rng.random() < 0.4:  # INVOICE, MEMORANDUM, a statement's total
        y += p.headline(m if p.rng.random() < 0.6 else p.w * 0.5, y, u) + u
    hand = u * p.rng.uniform(1.6, 2.6)
    slots = []
    p.body_text((p.w * p.rng.uniform(0.55, 0.65), y), " ".join(_date(p.rng)), size)
    y += size * 2.5
    for _ in range(int(p.rng.integers(2, 5))):  # the address
        p.body_text((m, y), " ".join(w.capitalize() for w in words_from(p.rng, int(p.rng.integers(2, 5)))), size)
        y += size * 1.3
    y += size * 1.5
    p.body_text((m, y), "Dear " + words_from(p.rng, 1)[0].capitalize() + ",", size)
    y += size * 2.2
    bottom = p.h - u * p.rng.uniform(22, 30)
    while y < bottom:
        n = int(p.rng.integers(2, 7))
        y = p.paragraph(m, y, p.w - m, n, size, p.body, p.style, leading=(1.2, 1.5)) + size * 0.8
        if p.rng.random() < 0.15 and y < bottom:  # a note written between paragraphs
            slots.append(Slot(m + u * p.rng.uniform(0, 10), y + hand * 0.9, p.w - m, hand, int(p.rng.integers(2, 7))))
            y += hand * 2.2
    p.body_text((m, y), ("Sincerely," if p.rng.random() < 0.5 else "Yours truly,"), size)
    sign_y = y + size * 1.5 + u * p.rng.uniform(3, 6)
    slots.append(Slot(m + u * p.rng.uniform(-1, 4), sign_y, p.w * 0.75, hand, 2, "signature"))
    p.body_text((m, sign_y + u * p.rng.uniform(1.5, 3)), " ".join(w.capitalize() for w in words_from(p.rng, 2)), size)
    if p.rng.random() < 0.3:  # initials or a short note in the right margin
        slots.append(Slot(p.w - m * 0.95, u * p.rng.uniform(30, 70), p.w - u, hand * 0.8, 1))
    if p.rng.random() < 0.2:
        p.stamp(p.w * p.rng.uniform(0.6, 0.8), p.h - u * p.rng.uniform(6, 10), u * 2)
    return slots


def cheque(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """A bank cheque: bank name and logo, the printed template with rules and boxes, a MICR line; handwritten date,
    payee, amount in figures and in words, memo and signature."""
    u, m = p.h / 100, p.w * p.rng.uniform(0.03, 0.06)
    if p.rng.random() < 0.6:  # a light security pattern behind everything, a little darker than the paper
        grey = int(p.page.getpixel((0, 0))) - int(p.rng.integers(15, 45))
        for k in range(0, p.w + p.h, max(3, int(u * p.rng.uniform(1, 3)))):
            p.draw.line([(k, 0), (k - p.h, p.h)], fill=grey, width=1)
    y = u * p.rng.uniform(4, 8)
    x = m + (p.logo(m, y, u * 12) + u * 2 if p.rng.random() < 0.7 else 0)
    p.text((x, y), " ".join(w.capitalize() for w in words_from(p.rng, 2)) + " Bank", u * p.rng.uniform(5, 8), bold=True)
    p.text((x, y + u * 9), " ".join(words_from(p.rng, 5)), u * 3.2)
    p.text((p.w - m - u * 12, y), str(p.rng.integers(100, 9999)), u * 4, p.body)
    hand = u * p.rng.uniform(5, 7.5)
    slots = []
    date_y = y + u * p.rng.uniform(16, 22)
    p.text((p.w * 0.62, date_y - u * 4), "DATE", u * 3.2)
    p.rule(date_y + u * 1.5, p.w * 0.7, p.w - m)
    slots.append(Slot(p.w * 0.71, date_y, p.w - m, hand, 3, text=_date(p.rng)))
    pay_y = date_y + u * p.rng.uniform(13, 17)
    label = "PAY TO THE ORDER OF" if p.rng.random() < 0.7 else "Pay"
    p.text((m, pay_y - u * 4.5), label, u * 3.2)
    start = max(m + u * 25, p.printed[-1][2] + u)  # the payee line starts after its label, however wide the face
    p.rule(pay_y + u * 1.5, start, p.w * 0.74)
    payee = tuple(w.capitalize() for w in words_from(p.rng, int(p.rng.integers(1, 4))))
    slots.append(Slot(start + u * 2, pay_y, p.w * 0.74, hand, 4, text=payee))
    p.text((p.w * 0.76, pay_y - u * 4), "$", u * 5)
    p.box(p.w * 0.79, pay_y - u * 7, p.w - m, pay_y + u * 2.5)
    slots.append(Slot(p.w * 0.8, pay_y, p.w - m - u, hand, 1, text=(_amount(p.rng),)))
    words_y = pay_y + u * p.rng.uniform(12, 15)
    p.rule(words_y + u * 1.5, m, p.w * 0.84)
    p.text((p.w * 0.85, words_y - u * 3.5), "DOLLARS", u * 3.2)
    slots.append(Slot(m + u * 2, words_y, p.w * 0.84, hand, 7,
                      text=tuple(words_from(p.rng, int(p.rng.integers(3, 7)))) + ("and", "00/100")))
    sign_y = words_y + u * p.rng.uniform(14, 18)
    p.text((m, sign_y - u * 3.5), "MEMO", u * 3)
    p.rule(sign_y + u * 1.5, m + u * 10, p.w * 0.45)
    if p.rng.random() < 0.5:
        slots.append(Slot(m + u * 11, sign_y, p.w * 0.45, hand * 0.8, 3))
    p.rule(sign_y + u * 1.5, p.w * 0.55, p.w - m)
    p.text((p.w * 0.62, sign_y + u * 4.5), "AUTHORIZED SIGNATURE", u * 2.4)
    slots.append(Slot(p.w * 0.57, sign_y, p.w - m, hand * 0.9, 2, "signature"))
    micr = f"|:{p.rng.integers(10**8, 10**9)}|: {p.rng.integers(10**9, 10**10)}|\" {p.rng.integers(1000, 9999)}"
    p.text((m + u * 10, p.h - u * 9), micr, u * 5, p.body)
    return slots


def receipt(p: Printer, lines: tuple[int, int]) -> list[Slot]:
    """A till receipt or card slip on a narrow strip: shop name, items and prices, totals; sometimes a handwritten
    tip, total and signature, or a note."""
    u = p.h / 100
    left, right = p.w * p.rng.uniform(0.15, 0.3), p.w * p.rng.uniform(0.7, 0.85)
    p.draw.rectangle([0, 0, p.w, p.h], fill=int(p.rng.integers(60, 160)))  # the table under the strip
    p.draw.rectangle([left, u * p.rng.uniform(0, 4), right, p.h - u * p.rng.uniform(0, 4)],
                     fill=int(p.rng.integers(215, 250)))
    size, x0, x1 = (right - left) / p.rng.uniform(22, 32), left + u * 2, right - u * 2
    y = u * p.rng.uniform(5, 9)
    p.text(((left + right) / 2 - size * 5, y), " ".join(words_from(p.rng, 2)).upper(), size * 1.6, p.body, bold=True)
    y += size * 3.5
    for _ in range(int(p.rng.integers(1, 4))):
        p.body_text((x0, y), " ".join(words_from(p.rng, 4)), size)
        y += size * 1.4
    y += size
    for _ in range(int(p.rng.integers(3, 12))):
        p.body_text((x0, y), " ".join(words_from(p.rng, int(p.rng.integers(1, 3)))).upper(), size)
        p.body_text((x1 - size * 5, y), f"{p.rng.uniform(0.5, 99):6.2f}", size)
        y += size * 1.4
    slots, hand = [], size * p.rng.uniform(1.3, 2.0)
    for label in ("SUBTOTAL", "TAX", "TIP", "TOTAL"):
        if y > p.h - u * 20:
            break
        p.body_text((x0, y), label, size)
        if label in ("TIP", "TOTAL") and p.rng.random() < 0.5:
            p.rule(y + size * 1.1, x0 + size * 8, x1)
            slots.append(Slot(x0 + size * 9, y + size * 0.9, x1, hand, 1, text=(_amount(p.rng),)))
            y += hand * 1.2
        else:
            p.body_text((x1 - size * 5, y), f"{p.rng.uniform(1, 300):6.2f}", size)
        y += size * 1.6
    if p.rng.random() < 0.5 and y < p.h - u * 12:
        p.rule(y + hand * 1.5, x0, x1)
        slots.append(Slot(x0 + size, y + hand * 1.3, x1, hand, 2, "signature"))
        y += hand * 2.5
    p.body_text((x0, y + size), "THANK YOU", size)
    if p.rng.random() < 0.4 and y < p.h - u * 15:
        p.headline(x0, y + size * 3, u * 0.8)
    return slots


DOCUMENTS = {f.__name__: f for f in (typed_letter, cheque, receipt)}

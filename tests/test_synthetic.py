"""The generator: deterministic, labels tight to the handwritten ink, nothing on printed text, a contact sheet."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from hwdetect.config import params as P
from hwdetect.config.registry import LAYOUTS
from hwdetect.files.yolo_labels import format_boxes
from hwdetect.synth.generate import generate, page_spec
from hwdetect.synth.pages import render_page

SPEC = dataclasses.replace(page_spec(P.load()["synthetic"]), width=384, height=432)


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    generate(tmp_path / "a", 3, 6, SPEC, workers=1, sheet_dir=tmp_path / "sheet_a", sheet_pages=4)
    generate(tmp_path / "b", 3, 6, SPEC, workers=2, sheet_dir=tmp_path / "sheet_b", sheet_pages=4)
    generate(tmp_path / "c", 4, 6, SPEC, workers=2)
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b and len(a) == 6 + 6 + 1 + 1  # images, labels, groups.csv, the output marker
    assert a != c
    assert digest(tmp_path / "sheet_a") == digest(tmp_path / "sheet_b")
    assert (tmp_path / "a" / "groups.csv").read_text().splitlines()[:2] == ["image,group", "syn000000.jpg,syn000000"]


def test_contact_sheet_is_a_grid_of_pages(tmp_path):
    import cv2
    generate(tmp_path / "d", 0, 5, SPEC, sheet_dir=tmp_path / "sheet", sheet_pages=5)
    sheet = cv2.imread(str(tmp_path / "sheet" / "contact_sheet.png"))
    assert sheet.shape[1] == 4 * (320 + 8) and sheet.shape[0] >= 2 * 320
    red = (sheet[:, :, 2] > 200) & (sheet[:, :, 1] < 60)
    assert red.mean() > 0.001, "boxes are drawn on the sheet"


def clean_page(layout: str, index: int):
    """A page without scan artefacts, to see exactly where ink and print are."""
    return clean_page_of(dataclasses.replace(SPEC, layouts={layout: 1.0}), index)


def clean_page_of(spec, index: int):
    import hwdetect.synth.pages as pages
    real_scan = pages.scan
    try:
        pages.scan = lambda img, rng, inks, pad, printed=(): (img, inks, list(printed))
        img, inks, printed = render_page(11, index, spec)
    finally:
        pages.scan = real_scan
    return img, inks, printed


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("index", range(3))
def test_boxes_hold_handwriting_only_and_are_tight(layout, index, monkeypatch):
    monkeypatch.setattr("hwdetect.synth.scan.CLOSE_UP", 0.0)  # a close-up leaves lines out of the frame by design
    img, inks, _ = clean_page(layout, index)
    _, boxes, _ = render_page(11, index, dataclasses.replace(SPEC, layouts={layout: 1.0}))
    if layout == "print_only":
        assert not inks and not boxes and (img < np.percentile(img, 95) - 20).sum() > 200, "print, no label"
        return
    assert inks and 0.7 * len(inks) <= len(boxes) <= len(inks)  # the scan's framing may cut a line at the edge off
    hand = np.zeros(img.shape, bool)
    for pts in inks:
        hand[pts[:, 1].astype(int), pts[:, 0].astype(int)] = True
    ink = img < np.percentile(img, 95) - 60  # a receipt lies on a darker table
    for pts in inks:
        x0, y0 = pts.min(0).astype(int)
        x1, y1 = pts.max(0).astype(int) + 1
        window = ink[y0:y1, x0:x1]
        # Tight: handwriting reaches every edge of its box.
        rows, cols = np.nonzero(hand[y0:y1, x0:x1])
        assert rows.min() == 0 and cols.min() == 0 and rows.max() == y1 - y0 - 1 and cols.max() == x1 - x0 - 1
        # Little else: dark pixels in the box are mostly this line's handwriting, not print or rules.
        foreign = window & ~hand[y0:y1, x0:x1]
        foreign[foreign.mean(1) > 0.6] = False  # a ruled line the writing touches (a form field) is fine
        if window.size < 400:  # a tick sits on its printed tick box, frame and all
            continue
        assert foreign.sum() <= 0.15 * window.sum() + 0.01 * window.size, f"print inside a box on {layout}"
    if layout != "notebook":  # a notebook page has ruled lines only, too light to count as ink here
        assert (ink & ~hand).sum() > 200, "the page carries printed text outside the boxes"


def test_scanned_boxes_follow_the_ink_and_labels_are_normalised():
    img, boxes, _ = render_page(1, 0, SPEC)
    assert boxes
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0]
        inner = img[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))]
        assert (inner < np.median(img) - 40).mean() > 0.02
    rows = [r.split() for r in format_boxes(boxes, img.shape[1], img.shape[0]).splitlines()]
    assert len(rows) == len(boxes)
    assert all(r[0] == "0" and all(0 < float(v) <= 1 for v in r[1:]) for r in rows)


def test_writers_leave_word_gaps_of_up_to_three_sizes_and_some_print_letters_apart():
    from hwdetect.synth.handwriting import random_writer

    writers = [random_writer(np.random.default_rng([5, i]), 1.0, list(SPEC.hands)) for i in range(400)]
    gaps = np.array([w.word_gap for w in writers])
    assert 0.3 < (gaps >= 1.0).mean() < 0.5 and gaps.min() < 0.5 and gaps.max() > 2.8
    assert 0.15 < np.mean([w.tracking > 0 for w in writers]) < 0.35
    assert {w.case for w in writers} == {"as-is", "capitals", "upper"}


def test_wide_gaps_and_loose_letters_still_give_one_box_per_line(monkeypatch):
    monkeypatch.setattr("hwdetect.synth.scan.CLOSE_UP", 0.0)
    spec = dataclasses.replace(SPEC, layouts={"iam_form": 1.0},
                               writer_ranges=(("word_gap", 3.0, 3.0), ("tracking", 0.25, 0.25)))
    img, inks, _ = clean_page_of(spec, 2)
    _, boxes, _ = render_page(11, 2, spec)
    assert len(inks) >= 2 and len(boxes) == len(inks)
    widths = [pts[:, 0].max() - pts[:, 0].min() for pts in inks]
    assert np.median(widths) > 0.5 * SPEC.width, "a line's box spans its words, gaps included"


def black_and_white_pages(monkeypatch, spec, pages: int):
    """(image, boxes, clean inks) of pages that would all be scanned in black and white if their lines survive."""
    for name, value in (("BITONAL", 1.0), ("PHOTO", 0.0), ("CLOSE_UP", 0.0)):
        monkeypatch.setattr(f"hwdetect.synth.scan.{name}", value)
    return [(*render_page(11, index, spec)[:2], clean_page_of(spec, index)[1]) for index in range(pages)]


def test_black_and_white_scans_keep_every_line_in_its_box(monkeypatch):
    spec = dataclasses.replace(SPEC, layouts={"iam_form": 1.0}, writer_ranges=(("alpha", 1.0, 1.0), ("ink", 0, 20)))
    bitonal = 0
    for img, boxes, inks in black_and_white_pages(monkeypatch, spec, 6):
        assert len(inks) >= 2 and 0.7 * len(inks) <= len(boxes) <= len(inks)
        if np.isin(img, (0, 255)).mean() < 0.999:
            continue  # grey, or a JPEG copy of the black-and-white scan
        bitonal += 1
        for x0, y0, x1, y1 in boxes:
            assert (img[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] == 0).mean() > 0.02, "the line's ink is kept"
    assert bitonal >= 3


def test_a_page_whose_light_pencil_the_threshold_would_lose_stays_grey(monkeypatch):
    spec = dataclasses.replace(SPEC, layouts={"iam_form": 1.0}, writer_ranges=(("alpha", 0.3, 0.3), ("ink", 150, 150)))
    for img, boxes, _ in black_and_white_pages(monkeypatch, spec, 4):
        assert boxes and np.isin(img, (0, 255)).mean() < 0.9


def test_a_close_up_keeps_the_boxes_of_the_lines_it_shows(monkeypatch):
    monkeypatch.setattr("hwdetect.synth.scan.CLOSE_UP", 1.0)
    spec = dataclasses.replace(SPEC, layouts={"iam_form": 1.0})
    shown = 0
    for index in range(4):
        img, boxes, _ = render_page(11, index, spec)
        _, inks, _ = clean_page_of(spec, index)
        assert len(boxes) <= len(inks)
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0]
        heights = [y1 - y0 for _, y0, _, y1 in boxes]
        ink_heights = [pts[:, 1].max() - pts[:, 1].min() for pts in inks]
        if heights:
            assert np.median(heights) > 1.3 * np.median(ink_heights), "lines are shown larger"
        shown += len(boxes)
    assert shown > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_print_is_labelled_apart_from_the_handwriting(layout, monkeypatch):
    monkeypatch.setattr("hwdetect.synth.scan.CLOSE_UP", 0.0)  # a close-up leaves print out of the frame by design
    for index in range(2):
        img, inks, printed = clean_page(layout, index)
        paper = np.percentile(img, 95)
        assert printed or layout == "notebook", "a document's print is labelled"
        under_print = np.zeros(img.shape, bool)
        for x0, y0, x1, y1 in printed:
            window = img[max(int(y0), 0):int(np.ceil(y1)), max(int(x0), 0):int(np.ceil(x1))]
            assert window.size and window.min() < paper - 40, f"a print box on {layout} holds print"
            under_print[max(int(y0), 0):int(np.ceil(y1)), max(int(x0), 0):int(np.ceil(x1))] = True
        for pts in inks:  # handwriting sits beside print, on lines and in fields (a signature may cross its label)
            x0, y0 = pts.min(0).astype(int)
            x1, y1 = pts.max(0).astype(int) + 1
            assert under_print[y0:y1, x0:x1].mean() < 0.5, f"handwriting under print on {layout}"
        _, boxes, scanned = render_page(11, index, dataclasses.replace(SPEC, layouts={layout: 1.0}))
        h, w = img.shape
        assert all(0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h for x0, y0, x1, y1 in scanned)
        assert len(scanned) <= len(printed) and (len(scanned) > 0.3 * len(printed) or not printed)


def test_training_labels_hold_handwriting_alone_and_measuring_sets_add_print_as_class_1(tmp_path):
    from hwdetect.files.yolo_labels import read_boxes, read_rows

    spec = dataclasses.replace(SPEC, layouts={"form_fill": 1.0})
    generate(tmp_path / "train", 4, 6, spec, workers=1)
    generate(tmp_path / "measure", 4, 6, spec, workers=1, print_labels=True)
    classes = set()
    for label in sorted((tmp_path / "measure" / "labels").glob("*.txt")):
        rows = read_rows(label, 2)
        classes |= {c for c, _ in rows}
        assert read_boxes(tmp_path / "train" / "labels" / label.name) == [b for c, b in rows if c == 0]
    assert classes == {0, 1}


@pytest.mark.parametrize("layout", ["form_fill", "cheque"])
def test_a_form_filled_in_by_machine_has_typed_fields_and_a_handwritten_signature(layout):
    by_hand = dataclasses.replace(SPEC, layouts={layout: 1.0}, typed_fill=0.0)
    typed, written = 0, 0
    for index in range(4):
        _, inks, printed = clean_page_of(by_hand, index)
        _, typed_inks, typed_printed = clean_page_of(dataclasses.replace(by_hand, typed_fill=1.0), index)
        assert len(typed_inks) <= len(inks) and len(typed_printed) >= len(printed)
        typed += len(typed_printed) - len(printed)
        written += len(inks) - len(typed_inks)
        if layout == "cheque":
            assert typed_inks, "the signature stays handwritten"
    assert typed >= written > 0, "fields left to the hand are typed instead, each a print box, none labelled"


def test_a_form_row_holds_several_entries_each_its_own_box_with_print_between():
    spec = dataclasses.replace(SPEC, layouts={"form_fill": 1.0}, typed_fill=0.0)
    beside = 0
    for index in range(6):
        _, inks, printed = clean_page_of(spec, index)
        boxes = [(*pts.min(0), *pts.max(0)) for pts in inks]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                left, right = sorted((a, b))
                if min(a[3], b[3]) - max(a[1], b[1]) < 0.5 * min(a[3] - a[1], b[3] - b[1]):
                    continue  # not on the same row
                assert right[0] > left[2], "entries of one row never overlap"
                beside += any(left[2] <= p[0] and p[2] <= right[0] and p[1] < right[3] and p[3] > right[1]
                              for p in printed)  # a printed label between them on their row
    assert beside >= 6, "forms put several labelled entries on a row"

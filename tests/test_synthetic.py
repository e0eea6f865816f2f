"""The generator: deterministic, labels tight to the handwritten ink, nothing on printed text."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from stages.pages import render_page, yolo_labels
from stages.synthetic import generate


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    generate(tmp_path / "a", 3, 6, 256, 288, (2, 4), workers=1)
    generate(tmp_path / "b", 3, 6, 256, 288, (2, 4), workers=2)
    generate(tmp_path / "c", 4, 6, 256, 288, (2, 4), workers=2)
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b
    assert len(a) == 6 + 6 + 1
    assert a != c
    assert (tmp_path / "a" / "groups.csv").read_text().splitlines()[:2] == ["image,group", "syn000000.jpg,syn000000"]


@pytest.mark.parametrize("index", range(8))
def test_boxes_are_tight_to_handwriting_and_below_the_print(index):
    """Every box holds ink up to its edges, and the printed text lies outside every box."""
    img, boxes = render_page(7, index, 512, 576, (3, 8))
    assert 3 <= len(boxes) <= 8
    ink = img < np.median(img) - 40  # darker than the paper: ink of any colour, pencil included
    for x0, y0, x1, y1 in boxes:
        inner = ink[int(y0) + 1:int(y1) - 1, int(x0) + 1:int(x1) - 1]
        assert inner.mean() > 0.02, "a box with almost no ink in it"
        # Ink reaches (within 3 px) each edge of the box: the box is not padded.
        rows, cols = np.nonzero(ink[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))])
        assert rows.min() <= 3 and cols.min() <= 3
        assert rows.max() >= int(np.ceil(y1)) - int(y0) - 4 and cols.max() >= int(np.ceil(x1)) - int(x0) - 4
    # The printed header and paragraph sit above every handwritten box: no label on printed text.
    top = min(b[1] for b in boxes)
    printed = ink[: int(top) - 2, 40:-40]
    assert printed.mean() > 0.005, "the page should carry printed text above the handwriting"


def test_boxes_do_not_overlap_much_and_labels_are_normalised():
    img, boxes = render_page(1, 0, 640, 720, (6, 6))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            inter = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            assert inter < 0.5 * min(a[3] - a[1], b[3] - b[1])
    rows = [r.split() for r in yolo_labels(boxes, 640, 720).splitlines()]
    assert len(rows) == len(boxes)
    for r in rows:
        assert r[0] == "0" and all(0 < float(v) <= 1 for v in r[1:])

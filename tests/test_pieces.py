"""Boxes that run over print and handwriting cut into their handwriting (hwdetect/verify/pieces.py): a form label and
the entry written after it come apart, a handwritten line with wide gaps stays whole, a doubted box is not cut, and
every command's view of the boxes (second_look, Ultralytics validation) follows the cut."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run
from hwdetect.verify.pieces import GAP, NARROW, pieces
from test_edges import INK, PAPER, write

TESTS = Path(__file__).resolve().parent
cv2.setNumThreads(0)  # as in test_edges: no half-made OpenCV thread pool for later forked workers


def label(page: np.ndarray, text: str, x: int, baseline: int) -> np.ndarray:
    """Print `text` as a form label (a plain sans face, smaller than the writing); its ink's box."""
    mask = np.zeros_like(page)
    cv2.putText(mask, text, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 255, 1, cv2.LINE_AA)
    page[mask > 128] = INK
    ys, xs = np.nonzero(mask > 128)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def union(*boxes) -> np.ndarray:
    b = np.array(boxes)
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def knowing(printed: list[np.ndarray], threshold: float = 0.3, split: bool = True, snap: bool = False):
    """A verifier that knows where the print is, as the generator does: a box mostly over print is print (p 0.01),
    any other box handwriting (p 0.9, kept with its score)."""
    from hwdetect.verify.net import Verifier
    from test_verifier import fixed_net

    class Knowing(Verifier):
        def probabilities(self, gray, boxes):
            def over_print(b):
                return any(min(b[2], p[2]) - max(b[0], p[0]) > 0.6 * (b[2] - b[0]) for p in printed)
            return np.array([0.01 if over_print(b) else 0.9 for b in np.reshape(boxes, (-1, 4))], np.float32)

    return Knowing(fixed_net(0.0), threshold, snap=snap, split=split)


@pytest.fixture
def page():
    return np.full((300, 1400), PAPER, np.uint8)


def test_a_label_and_the_entries_written_after_it_come_apart(page):
    name = label(page, "Name:", 40, 150)
    sally = write(page, "Sally Walker", int(name[2]) + 30, 150)
    zip_label = label(page, "Zip:", int(sally[2]) + 40, 150)
    zip_code = write(page, "07082", int(zip_label[2]) + 30, 150)
    row = union(name, sally, zip_label, zip_code)
    h = row[3] - row[1]
    assert (sally[0] - name[2]) > GAP * h and (zip_label[2] - zip_label[0]) >= NARROW * h, "a gap and a label to cut"
    boxes, scores, source = knowing([name, zip_label]).second_look(page, row[None], np.array([0.4], np.float32))
    assert len(boxes) == 2 and source.tolist() == [0, 0]
    assert np.abs(boxes[0] - sally).max() <= 1.0 and np.abs(boxes[1] - zip_code).max() <= 1.0, boxes
    assert scores == pytest.approx([0.4, 0.4]), "each entry keeps the box's score"


def test_a_handwritten_line_with_wide_gaps_stays_whole_and_a_dot_is_never_print(page):
    words = [write(page, w, x, 150) for w, x in (("quickly", 40), ("over", 400), ("it", 700))]
    line = union(*words)
    assert len(pieces(page, line)) == 3, "three pieces, none of them print"
    boxes, scores, source = knowing([]).second_look(page, line[None], np.array([0.5], np.float32))
    assert np.array_equal(boxes, line[None]) and source.tolist() == [0] and scores == pytest.approx([0.5])
    dot = np.array([900, 140, 906, 146], float)  # a full stop far after the line, narrower than NARROW heights
    page[140:146, 900:906] = INK
    boxes, _, _ = knowing([dot]).second_look(page, union(line, dot)[None], np.array([0.5], np.float32))
    assert np.array_equal(boxes, union(line, dot)[None]), "a dot alone says too little to cut a line at"


def test_entries_of_two_table_cells_come_apart_at_the_column_rule_but_not_at_a_streak_or_a_fold(page):
    left = write(page, "AnyCompany", 60, 150)
    right = write(page, "head baker", int(left[2]) + 12, 150)
    row = union(left, right)
    h = row[3] - row[1]
    assert right[0] - left[2] < GAP * h, "too close to cut at the gap alone"
    rule_x, top = int(left[2] + 5), int(row[1] - 0.5 * h)
    page[top:int(row[3] + h), rule_x:rule_x + 2] = 90  # the column rule, a little paler than the ink
    page[top:top + 2, 40:int(right[2] + 20)] = 90  # the table's row rule above the entries
    boxes, scores, source = knowing([]).second_look(page, row[None], np.array([0.5], np.float32))
    assert len(boxes) == 2 and source.tolist() == [0, 0], boxes
    assert np.abs(boxes[0] - left).max() <= 1.0 and np.abs(boxes[1] - right).max() <= 1.0, boxes
    assert scores == pytest.approx([0.5, 0.5])
    page[top:top + 2] = PAPER
    boxes, _, _ = knowing([]).second_look(page, row[None], np.array([0.5], np.float32))
    assert np.array_equal(boxes, row[None]), "a line down the page that meets no row rule is a fold, not a table"
    page[:, rule_x:rule_x + 2] = PAPER
    page[top:top + 2, 40:int(right[2] + 20)] = 90
    page[:, rule_x - 8:rule_x + 8] = np.minimum(page[:, rule_x - 8:rule_x + 8], 90)  # a dark streak down the page
    boxes, _, _ = knowing([]).second_look(page, row[None], np.array([0.5], np.float32))
    assert np.array_equal(boxes, row[None]), "a dark streak wider than a rule is no rule"


def test_a_box_the_verifier_doubts_or_a_verifier_without_split_leaves_whole(page):
    name = label(page, "Name:", 40, 150)
    sally = write(page, "Sally Walker", int(name[2]) + 30, 150)
    row = union(name, sally)
    doubted = knowing([name], threshold=0.95)  # 0.9 for the whole box: below this threshold
    boxes, scores, _ = doubted.second_look(page, row[None], np.array([0.4], np.float32))
    assert np.array_equal(boxes, row[None]) and scores == pytest.approx([0.4 * 0.9]), "ranked down, not cut"
    boxes, scores, source = knowing([name], split=False).second_look(page, row[None], np.array([0.4], np.float32))
    assert np.array_equal(boxes, row[None]) and source.tolist() == [0]
    assert pieces(page, np.array([0, 0, 40, 30])).shape == (0, 4), "narrow and blank boxes have no pieces"
    assert pieces(np.full_like(page, PAPER), row).shape == (0, 4)


def test_a_cut_box_reaches_ultralytics_validation_as_its_pieces(page, tmp_path):
    name = label(page, "Name:", 40, 150)
    sally = write(page, "Sally Walker", int(name[2]) + 30, 150)
    cv2.imwrite(str(tmp_path / "page.png"), page)
    np.save(tmp_path / "boxes.npy", np.array([name, sally]))
    # torch in a child process: threads it starts would hang later tests that fork worker pools
    run([sys.executable, "-c", f"import test_pieces; test_pieces.check_validator({str(tmp_path)!r})"], TESTS,
        env={"PYTHONPATH": os.pathsep.join((str(TESTS.parent), str(TESTS)))})


def check_validator(folder: str) -> None:
    """The validator's predictions for a box over a label and its entry: the entry alone, class and score kept."""
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch
    from ultralytics.models.yolo.detect import DetectionValidator

    from hwdetect.verify.validator import verified_validator

    name, sally = np.load(Path(folder) / "boxes.npy")
    row = union(name, sally)
    gain, pad = 288 / 1400, (0.0, (288 - 300 * 288 / 1400) / 2)  # a 1400 x 300 page letterboxed into 288 x 288
    other = np.array([600, 40, 700, 60], float)  # a second box, on blank paper: left as it is
    pred = {"bboxes": torch.tensor(np.array([row, other]) * gain + [pad[0], pad[1]] * 2, dtype=torch.float32),
            "conf": torch.tensor([0.9, 0.3]), "cls": torch.tensor([0.0, 0.0])}
    batch = {"im_file": [str(Path(folder) / "page.png")], "img": torch.zeros(1, 3, 288, 288),
             "ori_shape": [(300, 1400)], "ratio_pad": [((gain, gain), pad)]}
    seen = {}
    DetectionValidator.update_metrics = lambda self, preds, b: seen.update(preds=preds)
    validator = verified_validator(knowing([name]))()
    validator.args.conf = 0.001
    validator.update_metrics([pred], batch)
    got = seen["preds"][0]
    assert len(got["bboxes"]) == len(got["conf"]) == len(got["cls"]) == 2
    entry = (got["bboxes"][0].numpy() - [pad[0], pad[1]] * 2) / gain
    assert np.abs(entry - sally).max() <= 1.5 / gain, "the entry alone, in the validator's letterboxed frame"
    assert got["conf"].tolist() == pytest.approx([0.9, 0.3])


def test_the_verifier_file_says_whether_boxes_are_cut(tmp_path):
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch

    from hwdetect.verify.net import load, save
    from test_verifier import fixed_net

    save(tmp_path / "cuts.pt", fixed_net(0.0), 0.3, snap=True, split=True)
    assert load(tmp_path / "cuts.pt").split
    older = torch.load(tmp_path / "cuts.pt", weights_only=True)
    del older["split"]
    torch.save(older, tmp_path / "older.pt")
    assert not load(tmp_path / "older.pt").split and load(tmp_path / "older.pt").snap, "files from before: not cut"

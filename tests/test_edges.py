"""Box edges snapped to the ink (hwdetect/verify/edges.py): a box the detector put a word late, too high or too
wide comes out as its line's ink; rules, borders, the next line and print further than a word gap stay out."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run
from hwdetect.verify.edges import REACH_X, WORD_GAP, snap_to_ink

TESTS = Path(__file__).resolve().parent
# As every command that snaps boxes has it (Ultralytics sets it on import): without OpenCV's thread pool in this
# process, the worker pools later tests fork (IAM conversion, the generator) cannot inherit it half-made and hang.
cv2.setNumThreads(0)

PAPER, INK = 235, 25


def write(page: np.ndarray, text: str, x: int, baseline: int, scale: float = 1.2) -> np.ndarray:
    """Write `text` in a script face; the ink's box (x0, y0, x1, y1, exclusive) on its own."""
    mask = np.zeros_like(page)
    cv2.putText(mask, text, (x, baseline), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, scale, 255, 2, cv2.LINE_AA)
    page[mask > 128] = INK
    ys, xs = np.nonzero(mask > 128)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


@pytest.fixture
def page():
    return np.full((300, 900), PAPER, np.uint8)


def test_a_box_a_word_late_and_too_high_comes_out_as_the_lines_ink(page):
    line = write(page, "quickly jumping", 60, 120)
    h = line[3] - line[1]
    late = line + [0.3 * h, -0.1 * h, -0.2 * h, -0.12 * h]  # left edge in the first word, right short, sits high
    wide = line + [-0.3 * h, -0.1 * h, 0.4 * h, 0.1 * h]  # paper around it
    snapped = snap_to_ink(page, np.array([late, wide]))
    assert np.abs(snapped - line).max() <= 1.0, snapped - line


def test_rules_borders_and_neighbours_stay_out(page):
    line = write(page, "signed here", 100, 150)
    h = int(line[3] - line[1])
    page[int(line[3]) - 2:int(line[3]), 20:880] = INK  # the form rule the words sit on, touching them
    page[40:260, int(line[0]) - 10:int(line[0]) - 8] = INK  # a box border just left of the line
    write(page, "the next line", 100, int(line[3]) + h)  # the line below, its ascenders near this one
    snapped = snap_to_ink(page, line[None] + [[-0.2 * h, 0.05 * h, 0.2 * h, 0.05 * h]])[0]
    assert np.abs(snapped - line).max() <= 2.0, snapped - line


def test_ink_beyond_a_word_gap_is_not_joined_and_ink_within_one_is(page):
    first = write(page, "Pay", 100, 150)
    h = first[3] - first[1]
    far = write(page, "ORDER", int(first[2] + (WORD_GAP + 0.3) * h), 150)
    assert far[0] - first[2] < REACH_X * h + h, "within reach, so only the gap keeps it out"
    assert np.abs(snap_to_ink(page, first[None])[0] - first).max() <= 1.0
    near = np.full_like(page, PAPER)
    a = write(near, "Pay", 100, 150)
    b = write(near, "a", int(a[2]) + 1, 150, scale=0.8)
    assert b[0] - a[2] < WORD_GAP * h and b[2] - a[2] < REACH_X * h
    joined = snap_to_ink(near, a[None])[0]
    assert joined[2] == pytest.approx(b[2], abs=1.0), "a short last word the box left out joins it"


def test_blank_faint_and_tiny_boxes_keep_their_edges(page):
    boxes = np.array([[100, 100, 300, 140], [5, 5, 7, 7], [890, 290, 900, 300]], np.float32)
    assert np.array_equal(snap_to_ink(page, boxes), boxes)
    faint = page.copy()
    write(faint, "pencil", 100, 140)
    faint[faint < PAPER] = PAPER - 20  # ink barely darker than the paper
    assert np.array_equal(snap_to_ink(faint, boxes[:1]), boxes[:1])
    out = snap_to_ink(page, np.zeros((0, 4), np.float32))
    assert out.shape == (0, 4) and out.dtype == np.float32


def test_evaluate_matches_the_snapped_boxes_in_the_validators_letterboxed_frame(page, tmp_path):
    line = write(page, "quickly jumping", 60, 120)
    cv2.imwrite(str(tmp_path / "page.png"), page)
    np.save(tmp_path / "line.npy", line)
    # torch in a child process: threads it starts would hang later tests that fork worker pools
    run([sys.executable, "-c", f"import test_edges; test_edges.check_validator_frame({str(tmp_path)!r})"], TESTS,
        env={"PYTHONPATH": os.pathsep.join((str(TESTS.parent), str(TESTS)))})


def check_validator_frame(folder: str) -> None:
    """A sloppy box in the validator's letterboxed frame reaches Ultralytics' matching snapped to the line's ink."""
    from hwdetect.training import runtime

    runtime.setup(2)
    import torch
    from ultralytics.models.yolo.detect import DetectionValidator

    from hwdetect.verify.net import Verifier, VerifierNet
    from hwdetect.verify.validator import verified_validator

    line = np.load(Path(folder) / "line.npy")
    h = line[3] - line[1]
    net = VerifierNet()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(2.0)  # keeps every box with its score (p = 0.88: over 0.5, under verify.net.SURE)
    gain, pad = 288 / 900, (0.0, (288 - 96) / 2)  # a 900 x 300 page letterboxed into 288 x 288
    sloppy = line + [0.3 * h, -0.1 * h, -0.2 * h, -0.12 * h]
    pred = {"bboxes": torch.tensor(np.array([sloppy * gain + [pad[0], pad[1]] * 2]), dtype=torch.float32),
            "conf": torch.tensor([0.9]), "cls": torch.tensor([0.0])}
    batch = {"im_file": [str(Path(folder) / "page.png")], "img": torch.zeros(1, 3, 288, 288),
             "ori_shape": [(300, 900)], "ratio_pad": [((gain, gain), pad)]}
    seen = {}
    DetectionValidator.update_metrics = lambda self, preds, b: seen.update(preds=preds)
    validator = verified_validator(Verifier(net, 0.5, snap=True))()
    validator.args.conf = 0.001
    validator.update_metrics([pred], batch)
    got = seen["preds"][0]["bboxes"][0].numpy()
    assert np.abs((got - [pad[0], pad[1]] * 2) / gain - line).max() <= 1.5, "snapped on the page, then letterboxed"
    assert seen["preds"][0]["conf"].tolist() == pytest.approx([0.9])


def test_the_verifier_judges_a_box_on_its_snapped_ink(page):
    from hwdetect.verify.net import Verifier
    from test_verifier import fixed_net

    line = write(page, "quickly jumping", 60, 120)
    h = line[3] - line[1]
    late = line + [0.3 * h, 0, -0.2 * h, -0.12 * h]  # a word late, short on the right, the bottom cut off

    class WholeLine(Verifier):  # sure of a box that holds the whole line, doubtful of a part of it
        def probabilities(self, gray, boxes):
            return np.array([0.9 if np.abs(b - line).max() <= 1.0 else 0.05 for b in boxes], np.float32)

    boxes, scores = late[None], np.array([0.5], np.float32)
    snapped, got, _ = WholeLine(fixed_net(0.0), 0.3, snap=True).second_look(page, boxes, scores)
    assert np.abs(snapped[0] - line).max() <= 1.0 and got == pytest.approx([0.5]), "judged on the whole line"
    _, as_detected, _ = WholeLine(fixed_net(0.0), 0.3, snap=False).second_look(page, boxes, scores)
    assert as_detected == pytest.approx([0.025]), "without snapping, the cut box is judged as it is"

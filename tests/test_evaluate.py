"""Evaluating any model on any labelled set, and the offline HTML report."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import stage, write_params
from hwdetect.evaluation.errors import image_errors, summarise
from hwdetect.evaluation.metrics import image_f1


def test_image_f1_matches_each_truth_once():
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    assert image_f1(truth, truth) == 1.0
    assert image_f1(truth[:1], truth) == pytest.approx(2 / 3)
    assert image_f1(np.vstack([truth[:1], truth[:1]]), truth[:1]) == pytest.approx(2 / 3)  # a duplicate is a miss
    assert image_f1(truth + [4, 0, 4, 0], truth) == 0.0  # IoU 0.43 < 0.5
    assert image_f1(np.zeros((0, 4)), truth) == 0.0 and image_f1(np.zeros((0, 4)), np.zeros((0, 4))) == 1.0


def test_error_breakdown_counts_found_split_merged_missed_and_off_line_boxes():
    # Five labelled lines, 10 px high and 100 px wide, 10 px apart; printed text further down is unlabelled.
    truth = np.array([[0, y, 100, y + 10] for y in (0, 20, 40, 60, 80)], float)
    pred = np.array([
        [0, -1, 100, 10],    # line 0 found, its box 10 % taller at the top
        [0, 20, 45, 30],     # line 1 cut into two word groups: two partial boxes, the line not found
        [55, 20, 100, 30],
        [0, 40, 100, 70],    # lines 2 and 3 under one box: merged, neither found
        [0, 200, 100, 210],  # a box on the printed text
    ], float)                # line 4 has no box at all
    errors = summarise([image_errors(pred, truth), image_errors(np.zeros((0, 4)), np.zeros((0, 4)))])
    assert {k: errors[k] for k in ("lines", "found", "missed", "split_lines", "merged_lines", "boxes",
                                   "partial_boxes", "merged_boxes", "boxes_off_lines")} == {
        "lines": 5, "found": 1, "missed": 4, "split_lines": 1, "merged_lines": 2, "boxes": 5, "partial_boxes": 2,
        "merged_boxes": 1, "boxes_off_lines": 1}
    assert errors["split_lines_per_line"] == 0.2 and errors["boxes_off_lines_per_line"] == 0.2
    assert errors["median_height_ratio"] == pytest.approx(1.1) and errors["median_top_offset"] == pytest.approx(-0.1)
    assert errors["median_bottom_offset"] == 0 and errors["median_width_ratio"] == 1
    assert summarise([image_errors(np.zeros((0, 4)), truth)])["median_height_ratio"] is None


@pytest.mark.slow
def test_evaluate_any_model_on_any_dataset_writes_metrics_and_report(trained_project):
    p = trained_project
    stage(p, "export")
    for model in ("best.pt", "best.onnx"):
        out = p / "runs" / f"eval-{model}"
        stage(p, "evaluate", "--model", f"models/detector/{model}", "--data", "data/split/dataset.yaml",
              "--split", "val", "--out", str(out))
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["images"] == 3 and 0 <= metrics["mAP50"] <= 1 and metrics["ms_per_image"]["inference"] > 0
        page = (out / "report.html").read_text()
        assert "Worst images by F1" in page and page.count("<img") >= 2 and "<svg" in page
        errors = metrics["errors"]
        assert errors["lines"] == metrics["instances"] and errors["found"] + errors["missed"] == errors["lines"]
        assert "Errors by line" in page and "lines cut into two or more boxes" in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the report must not load anything"
    assert not (p / "metrics" / "eval.json").exists(), "a custom evaluation leaves the pipeline's metrics alone"
    bad = stage(p, "evaluate", "--model", "models/detector/missing.pt", check=False)
    assert bad.returncode == 2 and "models/detector/missing.pt: not found" in bad.stderr


@pytest.mark.slow
def test_report_renders_in_headless_chromium(trained_project, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Chromium is not installed (Debian package `chromium`); the report render check needs it")
    p = trained_project
    out = tmp_path / "eval"
    stage(p, "evaluate", "--data", "data/split/dataset.yaml", "--out", str(out))
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2400",
                    f"--screenshot={shot}", (out / "report.html").as_uri()], check=True, capture_output=True,
                   timeout=120)
    import cv2
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (2400, 1200)
    non_white = (img < 200).any(axis=2)
    assert non_white.mean() > 0.02, "the page rendered blank"
    # The report's images (inline data URIs) rendered: some area is neither white nor text-dark.
    assert ((img > 60) & (img < 200)).all(axis=2).mean() > 0.004


@pytest.mark.slow
def test_export_fails_and_leaves_no_onnx_when_parity_breaks(trained_project):
    p = trained_project
    original = (p / "params.yaml").read_text()
    onnx_file = p / "models" / "detector" / "best.onnx"
    onnx_file.unlink(missing_ok=True)
    try:
        write_params(p, {"export": {"max_output_diff": 0.0}})
        result = stage(p, "export", check=False)
    finally:
        (p / "params.yaml").write_text(original)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ONNX parity check failed" in result.stderr and "export.max_output_diff=0.0" in result.stderr
    assert not onnx_file.exists() and not list(onnx_file.parent.glob(".partial*"))


def test_a_word_group_inside_its_line_box_is_a_duplicate_but_a_line_inside_a_two_line_box_is_not():
    from hwdetect.evaluation.lines import duplicate_parts

    boxes = np.array([
        [0, 0, 100, 10],    # a line, best score
        [50, 1, 95, 10],    # a word group of it, lower score: duplicate
        [0, 20, 100, 50],   # a box over two lines, best score
        [0, 21, 100, 34],   # one of those lines, lower score: kept (the two-line box is much taller)
        [0, 60, 40, 70],    # a short line of its own
    ], float)
    scores = np.array([0.9, 0.4, 0.8, 0.6, 0.5])
    assert duplicate_parts(boxes, scores).tolist() == [False, True, False, False, False]
    assert duplicate_parts(boxes[[1, 0]], scores[[1, 0]]).tolist() == [True, False]
    assert duplicate_parts(boxes[1:2], scores[1:2]).tolist() == [False]

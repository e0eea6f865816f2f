"""Evaluating any model on any labelled set, and the offline HTML report."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import stage, write_params
from hwdetect.evaluation.metrics import image_f1


def test_image_f1_matches_each_truth_once():
    truth = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    assert image_f1(truth, truth) == 1.0
    assert image_f1(truth[:1], truth) == pytest.approx(2 / 3)
    assert image_f1(np.vstack([truth[:1], truth[:1]]), truth[:1]) == pytest.approx(2 / 3)  # a duplicate is a miss
    assert image_f1(truth + [4, 0, 4, 0], truth) == 0.0  # IoU 0.43 < 0.5
    assert image_f1(np.zeros((0, 4)), truth) == 0.0 and image_f1(np.zeros((0, 4)), np.zeros((0, 4))) == 1.0


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

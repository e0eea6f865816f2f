"""End to end: `dvc repro` in a temporary git copy of the project with tiny params."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import yaml

from conftest import run, write_params
from faults import assert_unchanged, snapshot


def offline(cmd: list[str]) -> list[str]:
    """The command in a network namespace of its own (no network at all) where the machine allows it."""
    usable = shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    return ["unshare", "-n", *cmd] if usable else cmd


@pytest.mark.slow
def test_dvc_repro_builds_a_real_model_onnx_and_metrics(git_project):
    p = git_project
    # The default sources need no IAM account and no network.
    env = {"IAM_USERNAME": "", "IAM_PASSWORD": ""}
    out = run(offline(["dvc", "repro"]), p, env=env)
    assert "Running stage 'export'" in out.stdout
    assert "iam" not in out.stdout.replace("iam/dvc.yaml", "")
    assert not (p / "data" / "iam").exists()

    model, onnx_file = p / "models/detector/best.pt", p / "models/detector/best.onnx"
    assert model.stat().st_size > 1e6 and onnx_file.stat().st_size > 1e6
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(str(onnx_file))
    meta = {m.key: m.value for m in onnx.load(str(onnx_file)).metadata_props}
    assert "date" not in meta and "handwriting" in meta["names"]
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    for size in (64, 128):  # a dynamic input: the verifier's close look shows the page at twice the size
        (output,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, size, size), np.float32)})
        assert output.shape[:2] == (1, 5)  # 4 box coordinates + 1 class score per anchor

    ev = json.loads((p / "metrics/eval.json").read_text())
    assert ev["images"] == 3 and ev["instances"] > 0
    assert all(0 <= ev[k] <= 1 for k in ("precision", "recall", "f1", "mAP50", "mAP50-95"))
    ex = json.loads((p / "metrics/export.json").read_text())
    assert ex["max_output_diff"] < 0.01 and abs(ex["mAP50-95_drop"]) <= 0.01
    timing = json.loads((p / "metrics/timing/evaluate.json").read_text())
    assert timing["ms_per_image"]["inference"] > 0
    assert (p / "reports/eval/pr_curve.csv").read_text().startswith("recall,precision\n")
    assert len(list((p / "reports/eval/predictions").glob("*.jpg"))) == 2

    lock = yaml.safe_load((p / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"preflight", "synthetic", "source@synthetic", "split", "train", "verifier",
                                   "evaluate", "export"}
    assert "models/detector/verifier.pt" in {o["path"] for o in lock["stages"]["evaluate"]["deps"]}
    verifier = json.loads((p / "metrics/verifier.json").read_text())
    assert verifier["train_crops"] > 0 and 0 <= verifier["val_accuracy"] <= 1

    # Nothing re-runs, and a forced re-run reproduces every output byte for byte.
    again = run(["dvc", "repro"], p)
    assert "Running stage" not in again.stdout
    # Pretrained weights dropped in for a GPU profile change nothing for the cpu profile.
    (p / "models/pretrained/yolov8n.pt").write_bytes(b"weights for the GPU profiles")
    assert run(["dvc", "status", "dvc.yaml"], p).stdout.strip() == "Data and pipelines are up to date."
    before = (p / "dvc.lock").read_text()
    run(["dvc", "repro", "-f"], p)
    assert (p / "dvc.lock").read_text() == before

    # The dvc.yaml written by hand is untouched (the DVCLive callback is off) and git sees only the outputs.
    run(["git", "add", "-A"], p)
    run(["git", "commit", "-qm", "run"], p)
    assert run(["git", "status", "--porcelain"], p).stdout == ""

    # A committed param change shows up in `dvc metrics diff`.
    write_params(p, {"profiles": {"cpu": {"epochs": 2}}})
    run(["dvc", "repro"], p)
    run(["git", "commit", "-qam", "two epochs"], p)
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD~1", "--json"], p).stdout)
    assert diff["metrics/train.json"]["epochs"] == {"old": 1, "new": 2, "diff": 1}
    params_diff = json.loads(run(["dvc", "params", "diff", "HEAD~1", "--json"], p).stdout)
    assert params_diff["params.yaml"]["profiles.cpu.epochs"]["new"] == 2

    # A refused experiment (a GPU this machine does not have) stops at the preflight stage, before DVC removes any
    # stage's outputs: the model, reports, metrics and data are all still there, byte for byte.
    before = snapshot(*(p / d for d in ("data", "models", "reports", "metrics")), p / "dvc.lock")
    refused = run(["dvc", "exp", "run", "-S", "profiles.cpu.device=7"], p, check=False)
    assert refused.returncode != 0
    assert "error: params.yaml: profiles.cpu.device is 7 but torch sees" in refused.stderr
    assert "Running stage 'train'" not in refused.stdout
    assert_unchanged(before, *(p / d for d in ("data", "models", "reports", "metrics")), p / "dvc.lock")

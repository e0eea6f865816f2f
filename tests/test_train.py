"""Real training on tiny data: canonical, reproducible weights and clear errors for hardware mistakes."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import BIN, make_split, stage, write_params


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_training_twice_gives_identical_model_bytes(project):
    make_split(project)
    stage(project, "train")
    model = project / "models" / "detector" / "best.pt"
    first = {p: md5(p) for p in [model, *sorted((project / "reports" / "train").rglob("*.*"))]}
    assert str(project) not in model.read_bytes().decode("latin-1")
    stage(project, "train")
    assert {p: md5(p) for p in first} == first

    metrics = json.loads((project / "metrics" / "train.json").read_text())
    assert metrics["epochs"] == 1 and metrics["imgsz"] == 64 and metrics["profile"] == "cpu"
    assert set(metrics["val"]) >= {"precision", "recall", "mAP50", "mAP50-95"}
    header = (project / "reports" / "train" / "results.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,") and ",time," not in header
    assert list((project / "reports" / "train" / "tensorboard").glob("events.out.tfevents.*"))

    from ultralytics import YOLO
    yolo = YOLO(str(model))
    assert yolo.names == {0: "handwriting"}
    result = yolo.predict(str(next((project / "data" / "split" / "images" / "test").iterdir())), imgsz=64,
                          verbose=False)[0]
    assert result.boxes.xyxy.shape[1] == 4


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU; the error is for machines without")
def test_gpu_profile_without_cuda_is_a_clear_error(project):
    make_split(project)
    (project / "models" / "pretrained" / "yolov8n.pt").write_bytes(b"placeholder")
    write_params(project, {"train": {"profile": "rtx3050"}})
    result = stage(project, "train", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "profiles.rtx3050.device is 0 but torch sees no CUDA GPU" in result.stderr
    assert not (project / "models" / "detector" / "best.pt").exists()


@pytest.mark.slow
def test_pretrained_weights_offline_say_where_to_put_them(project):
    make_split(project)
    sha = "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36"
    write_params(project, {"train": {"weights_url": "http://127.0.0.1:9/releases"},
                           "profiles": {"cpu": {"model": "yolov8n.pt", "sha256": sha}}})
    result = stage(project, "train", check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: cannot download http://127.0.0.1:9/releases/yolov8n.pt (")
    assert result.stderr.strip().endswith(f"download yolov8n.pt on a machine that is online and put it in "
                                          f"models/pretrained/ (its sha256 must be {sha})")
    assert sorted(f.name for f in (project / "models" / "pretrained").iterdir()) == ["README.md"]


def test_an_epoch_trained_again_after_a_kill_counts_once_with_its_later_row(tmp_path):
    from hwdetect.training.runfiles import results_rows

    csv_file = tmp_path / "results.csv"  # killed after epoch 2's row was written, before its checkpoint was saved
    csv_file.write_text("epoch, time, metrics/mAP50(B)\n1, 5.0, 0.1\n2, 9.0, 0.2\n2, 4.5, 0.25\n3, 9.1, 0.3\n")
    rows = results_rows(csv_file)
    assert [(r["epoch"], r["metrics/mAP50(B)"]) for r in rows] == [(1, 0.1), (2, 0.25), (3, 0.3)]


@pytest.mark.slow
def test_interrupted_training_resumes_to_the_end(project):
    make_split(project)
    write_params(project, {"profiles": {"cpu": {"epochs": 6}}})
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-m", "stages.train"], cwd=project, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = project / "runs" / "train" / "weights" / "last.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if last.exists():
            try:
                if torch.load(last, map_location="cpu", weights_only=False).get("epoch", -1) >= 1:
                    break
            except Exception:  # caught while being written
                pass
        time.sleep(0.1)
    assert proc.poll() is None, "training ended before it could be interrupted"
    proc.send_signal(signal.SIGKILL)  # a power cut: no clean-up at all
    proc.wait()
    assert not (project / "models" / "detector" / "best.pt").exists()

    out = stage(project, "train", env={"RESUME": "1"})
    assert "resuming the interrupted run" in out.stdout
    metrics = json.loads((project / "metrics" / "train.json").read_text())
    assert metrics["epochs"] == 6
    assert (project / "models" / "detector" / "best.pt").exists()


@pytest.mark.slow
@pytest.mark.gpu
def test_gpu_profile_trains_on_cuda(project):
    make_split(project)
    write_params(project, {"train": {"profile": "rtx3050"}, "profiles": {"rtx3050": {
        "model": "yolov8n.yaml", "epochs": 1, "imgsz": 64, "batch": 4, "workers": 0}}})
    stage(project, "train")
    metrics = json.loads((project / "metrics" / "train.json").read_text())
    assert metrics["profile"] == "rtx3050" and metrics["epochs"] == 1 and metrics["nbs"] == 4 * 8
    assert (project / "models" / "detector" / "best.pt").stat().st_size > 1e6
    # Evaluation and prediction on the GPU too (their boxes come back as CUDA tensors).
    stage(project, "evaluate")
    assert json.loads((project / "metrics" / "eval.json").read_text())["errors"]["lines"] > 0
    out = subprocess.run([sys.executable, "-m", "hwdetect.predict", "--device", "0", "--source",
                          "data/split/images/test", "--out", "runs/gpu-predict"], cwd=project, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (project / "runs" / "gpu-predict" / "predictions.csv").exists()


@pytest.mark.gpu
def test_doctor_finds_the_gpu_and_checks_amp(project):
    out = subprocess.run([sys.executable, "-m", "hwdetect.doctor", "--profile", "rtx3050"], cwd=project,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "GPU 0 " in out.stdout and "AMP works" in out.stdout and "rtx3050 fits" in out.stdout

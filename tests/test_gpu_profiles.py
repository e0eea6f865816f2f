"""What a GPU user meets first, tested on any machine: pretrained weights fetched once and pinned by hash (from a
local server), auto-batch and devices refused with a reason, a simulated out-of-memory, and the doctor's verdicts."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from conftest import BIN, make_split, run, stage, write_params
from hwdetect.cli import UserError
from hwdetect.doctor import profile_problem
from hwdetect.files.http import new_session
from hwdetect.training.trainer import check_hardware, out_of_memory
from hwdetect.training.weights import ensure_weights

WEIGHTS = b"PK\x03\x04" + bytes(range(256)) * 64  # stands in for a checkpoint: only its bytes and hash matter here
WEIGHTS_SHA = hashlib.sha256(WEIGHTS).hexdigest()


class WeightsSite:
    """Release assets on 127.0.0.1: path → (body, content type); every GET is logged."""

    def __init__(self, files: dict[str, tuple[bytes, str]]):
        self.files, self.log = files, []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                site.log.append(self.path)
                body, kind = site.files.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if self.path in site.files else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/releases/v8.4.0"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def fetch(tmp_path, url, expected=WEIGHTS_SHA):
    return ensure_weights("yolov8n.pt", expected, str(tmp_path / "pretrained"), url, "rtx3050",
                          new_session("test", retries=0))


def test_weights_are_fetched_once_verified_and_then_used_offline(tmp_path):
    with WeightsSite({"/releases/v8.4.0/yolov8n.pt": (WEIGHTS, "application/octet-stream")}) as site:
        path = fetch(tmp_path, site.url)
        assert path.read_bytes() == WEIGHTS and site.log == ["/releases/v8.4.0/yolov8n.pt"]
        assert sorted(p.name for p in path.parent.iterdir()) == ["yolov8n.pt"]  # no .part left
    assert fetch(tmp_path, "http://127.0.0.1:9/nowhere") == path  # offline: the kept file is used


@pytest.mark.parametrize("body, kind, expected", [
    (WEIGHTS[:-1] + b"!", "application/octet-stream", "the download has sha256 "),
    (b"<!DOCTYPE html><html>Sign in</html>", "text/html; charset=utf-8", "the server sent an HTML page, not weights"),
])
def test_a_wrong_download_is_a_clear_error_and_nothing_is_kept(tmp_path, body, kind, expected):
    with WeightsSite({"/releases/v8.4.0/yolov8n.pt": (body, kind)}) as site:
        with pytest.raises(UserError, match=expected) as err:
            fetch(tmp_path, site.url)
    assert "\n" not in str(err.value)
    assert list((tmp_path / "pretrained").iterdir()) == []


def test_missing_asset_and_no_network_say_how_to_put_the_file_by_hand(tmp_path):
    with WeightsSite({}) as site:
        with pytest.raises(UserError, match="HTTP 404; check train.weights_url in params.yaml, or download yolov8n.pt"):
            fetch(tmp_path, site.url)
    with pytest.raises(UserError, match=f"cannot download .*put it in .*pretrained/ .its sha256 must be {WEIGHTS_SHA}"):
        fetch(tmp_path, "http://127.0.0.1:9/releases")
    assert list((tmp_path / "pretrained").iterdir()) == []


def test_hand_placed_weights_are_used_when_their_hash_matches_and_never_touched(tmp_path):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "yolov8n.pt").write_bytes(WEIGHTS)
    assert fetch(tmp_path, "http://127.0.0.1:9/offline").read_bytes() == WEIGHTS
    (folder / "yolov8n.pt").write_bytes(b"other weights")
    with pytest.raises(UserError, match="yolov8n.pt: sha256 [0-9a-f]{64} does not match profiles.rtx3050.sha256"):
        fetch(tmp_path, "http://127.0.0.1:9/offline")
    assert (folder / "yolov8n.pt").read_bytes() == b"other weights"


def test_auto_batch_needs_a_gpu_and_says_why():
    with pytest.raises(UserError, match=r"profiles.cpu.batch is -1 \(Ultralytics auto-batch\), which sizes the batch "
                                        r"from free CUDA memory and needs a GPU; set a number of images such as 16"):
        check_hardware({"device": "cpu", "batch": -1}, "cpu")
    with pytest.raises(UserError, match="profiles.cpu.batch is 0.6"):
        check_hardware({"device": "cpu", "batch": 0.6}, "cpu")
    check_hardware({"device": "cpu", "batch": 16}, "cpu")


def test_more_gpus_than_the_machine_has_are_refused_before_training(monkeypatch):
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match=r"profiles.production.device is \[0, 1\] but torch sees no CUDA GPU"):
            check_hardware({"device": [0, 1], "batch": 8}, "production")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with one GPU
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserError, match=r"profiles.production.device is '0,1' but torch sees 1 CUDA GPU\(s\) on this "
                                        r"machine; list only the GPUs it has \(nvidia-smi -L\), e.g. device: 0"):
        check_hardware({"device": "0,1", "batch": 8}, "production")
    check_hardware({"device": 0, "batch": 8}, "production")


def test_out_of_memory_message_gives_the_low_memory_recipe_for_the_profile():
    message = str(out_of_memory("rtx3050", {"device": "cpu", "batch": 2, "imgsz": 512, "cache": False}))
    assert message.startswith("out of memory on cpu (") and "with profile rtx3050 (batch 2, imgsz 512)" in message
    assert message.endswith("dvc exp run -S profiles.rtx3050.batch=1 -S profiles.rtx3050.accumulate=16 "
                            "-S profiles.rtx3050.imgsz=416")
    already_low = {"device": "cpu", "batch": 1, "imgsz": 416, "cache": False}
    assert str(out_of_memory("rtx3050", already_low)).endswith("dvc exp run -S profiles.rtx3050.imgsz=320")


def card(gib, name="NVIDIA GeForce RTX 3050", amp=None):
    return {"index": 0, "name": name, "gib": gib, "capability": "8.6", "amp": amp}


def test_doctor_says_which_profile_fits_a_card_and_what_to_fix():
    rtx3050 = {"device": 0, "amp": True}
    assert profile_problem("rtx3050", rtx3050, [card(6.0)], "13.0") is None
    assert profile_problem("production", rtx3050, [card(6.0)], "13.0") is None
    small = card(1.2, name="NVIDIA GeForce MX150")
    assert profile_problem("rtx3050", rtx3050, [small], "13.0") is None
    assert "needs ~1.4 GiB and NVIDIA GeForce MX150 has 1.2 GiB" in profile_problem("production", rtx3050, [small],
                                                                                      "13.0")
    assert "has 1 GPU(s); set device: 0" in profile_problem("rtx3050", {"device": 1, "amp": True}, [small], "13.0")
    assert "is [0, 1] but this machine has 1 GPU(s)" in profile_problem("production", {"device": [0, 1]}, [small], "13")
    assert "CPU-only build; install a CUDA build" in profile_problem("rtx3050", rtx3050, [], None)
    assert "sees no GPU; check that nvidia-smi lists one" in profile_problem("rtx3050", rtx3050, [], "13.0")
    bad_amp = card(6.0, amp="GTX 1650 is known to give NaN losses with AMP; set amp: false in the profile")
    assert profile_problem("rtx3050", rtx3050, [bad_amp], "13.0").endswith("set amp: false in profiles.rtx3050")
    assert profile_problem("cpu", {"device": "cpu"}, [], None) is None


def test_doctor_command_reports_and_exits_by_verdict(project):
    ok = run([sys.executable, "-m", "hwdetect.doctor"], project)
    assert "torch        " in ok.stdout and ok.stdout.strip().endswith("profile cpu can train here "
                                                                       "(dvc exp run -S train.profile=cpu)")
    if torch.cuda.is_available():
        return
    gpu = run([sys.executable, "-m", "hwdetect.doctor", "--profile", "rtx3050"], project, check=False)
    assert gpu.returncode == 2 and "Traceback" not in gpu.stderr
    assert "models/pretrained/yolov8n.pt: missing; the first training fetches it" in gpu.stdout
    assert gpu.stderr.startswith("error: profile rtx3050 cannot train here: ") and gpu.stderr.count("\n") == 1


@pytest.mark.slow
def test_train_stage_fetches_pinned_weights_and_fine_tunes_from_them(trained_project, project):
    weights = (trained_project / "models" / "detector" / "best.pt").read_bytes()  # a real checkpoint to start from
    sha = hashlib.sha256(weights).hexdigest()
    make_split(project)
    with WeightsSite({"/releases/v8.4.0/yolov8n.pt": (weights, "application/octet-stream")}) as site:
        write_params(project, {"train": {"weights_url": site.url},
                               "profiles": {"cpu": {"model": "yolov8n.pt", "sha256": sha}}})
        stage(project, "train")
        assert site.log == ["/releases/v8.4.0/yolov8n.pt"]
    assert (project / "models" / "pretrained" / "yolov8n.pt").read_bytes() == weights
    metrics = json.loads((project / "metrics" / "train.json").read_text())
    assert metrics["model"] == "yolov8n.pt" and metrics["model_sha256"] == sha


@pytest.mark.slow
def test_out_of_memory_in_training_ends_with_one_line_and_no_outputs(project):
    """Every training step runs out of memory (simulated): Ultralytics halves the batch three times, then gives up."""
    make_split(project)
    simulate = ("import runpy, torch, ultralytics.nn.tasks as tasks\n"
                "def oom(*args, **kwargs):\n"
                "    raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')\n"
                "tasks.DetectionModel.loss = oom\n"
                "runpy.run_module('stages.train', run_name='__main__')\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    result = subprocess.run([sys.executable, "-c", simulate], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: out of memory on cpu (") and result.stderr.count("\n") == 1
    assert result.stderr.strip().endswith("with profile cpu (batch 4, imgsz 64); close other programs using it "
                                          "(nvidia-smi lists them) and use less: dvc exp run -S profiles.cpu.batch=1 "
                                          "-S profiles.cpu.accumulate=16 -S profiles.cpu.cache=false")
    assert not (project / "models" / "detector" / "best.pt").exists()
    assert not (project / "metrics" / "train.json").exists()

"""The pre-annotation loop through a real Label Studio server: pre-annotations imported as predictions, accepted as
annotations, exported as Label Studio offers (COCO, YOLO), converted by the `custom` stage with every box in place,
and trained on for one tiny epoch. Label Studio runs from a virtualenv of its own (its dependencies are not the
project's), made once in runs/label-studio-venv; the test skips, saying why, where it cannot be installed."""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, stage, write_params
from hwdetect.preannotate.formats import write_label_studio

VERSION = "1.23.2"
# sentry-sdk 3 refuses an option label-studio 1.23 passes at start-up ("Unknown option 'send_default_pii'")
PACKAGES = (f"label-studio=={VERSION}", "sentry-sdk<3")
VENV = ROOT / "runs" / "label-studio-venv"
PINNED = VENV / "pinned.txt"  # what the virtualenv was made with: made again when PACKAGES change
TOKEN = "pipeline-test-token"


def label_studio() -> Path:
    exe, wanted = VENV / "bin" / "label-studio", "\n".join(PACKAGES) + "\n"
    if not exe.exists() or not PINNED.is_file() or PINNED.read_text() != wanted:
        shutil.rmtree(VENV, ignore_errors=True)  # the test's own folder, made by an earlier run of it
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PACKAGES]
        installed = made.returncode == 0 and subprocess.run(pip, capture_output=True, text=True, timeout=900)
        if not installed or installed.returncode != 0 or not exe.exists():
            shutil.rmtree(VENV, ignore_errors=True)
            pytest.skip(f"label-studio {VERSION} could not be installed in its own virtualenv here (no package index?)")
        PINNED.write_text(wanted)
    return exe


class Server:
    def __init__(self, exe: Path, data: Path, files_root: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "LABEL_STUDIO_USER_TOKEN": TOKEN,
               "LABEL_STUDIO_USERNAME": "pipeline@localhost", "LABEL_STUDIO_PASSWORD": "pipeline-test-password",
               "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
               "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(files_root)}
        self.proc = subprocess.Popen([str(exe), "start", "--no-browser", "--port", str(self.port), "--data-dir",
                                      str(data)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 240
        while time.time() < deadline and not self.healthy():
            assert self.proc.poll() is None, "label-studio stopped while starting"
            time.sleep(1)

    def healthy(self) -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2).status == 200
        except OSError:
            return False

    def call(self, method: str, path: str, body: object = None) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def truth_pages(project: Path) -> list[dict]:
    """The split's test pages with their true boxes in pixels: what a labeller would end with."""
    from PIL import Image

    pages = []
    for image in sorted((project / "data/split/images/test").iterdir()):
        w, h = Image.open(image).size
        rows = [[float(v) for v in line.split()[1:]]
                for line in (project / "data/split/labels/test" / f"{image.stem}.txt").read_text().splitlines()]
        boxes = [[(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h] for cx, cy, bw, bh in rows]
        pages.append({"name": image.name, "image": image, "width": w, "height": h,
                      "boxes": [{"xyxy": [round(v, 2) for v in b], "score": 0.5} for b in boxes]})
    return pages


@pytest.mark.slow
def test_label_studio_round_trip_then_one_tiny_epoch(tmp_path, trained_project, project):
    exe = label_studio()
    pages = truth_pages(trained_project)
    assert sum(len(page["boxes"]) for page in pages) >= 2  # the tiny project's three test pages hold two lines
    write_label_studio(tmp_path / "label-studio", pages, "best.pt@test")
    server = Server(exe, tmp_path / "ls-data", tmp_path / "label-studio")
    try:
        assert server.healthy(), "label-studio did not answer within 4 minutes"
        config = (tmp_path / "label-studio" / "label_config.xml").read_text()
        project_id = json.loads(server.call("POST", "/api/projects", {"title": "handwriting", "label_config": config}))["id"]
        tasks = json.loads((tmp_path / "label-studio" / "tasks.json").read_text())
        assert json.loads(server.call("POST", f"/api/projects/{project_id}/import", tasks))["prediction_count"] == 3
        for task in json.loads(server.call("GET", f"/api/tasks?project={project_id}&fields=all"))["tasks"]:
            (prediction,) = json.loads(server.call("GET", f"/api/predictions?task={task['id']}"))
            server.call("POST", f"/api/tasks/{task['id']}/annotations", {"result": prediction["result"]})  # accepted
        exports = {kind: server.call("GET", f"/api/projects/{project_id}/export?exportType={kind}")
                   for kind in ("COCO", "YOLO")}
    finally:
        server.stop()

    for kind, data in exports.items():
        custom = project / "data" / "custom"
        shutil.rmtree(custom, ignore_errors=True)
        zipfile.ZipFile(io.BytesIO(data)).extractall(custom)
        (custom / "images").mkdir(exist_ok=True)
        for page in pages:  # exports from local files hold no images: put the labelled pages beside them
            shutil.copyfile(page["image"], custom / "images" / page["name"])
        write_params(project, {"data": {"sources": ["custom"]},  # three pages: one per split
                               "split": {"ratios": {"train": 0.3, "val": 0.35, "test": 0.35}}})
        out = stage(project, "custom").stdout
        report = json.loads((project / "data/sources/custom/report.json").read_text())
        assert report["images"]["converted"] == 3 and report["images"]["groups"] == 3, out
        assert all(items == [] for items in report["problems"].values()), report["problems"]
        for page in pages:
            label = project / "data/sources/custom/labels" / f"{Path(page['name']).stem}.txt"
            rows = [[float(v) for v in line.split()[1:]] for line in label.read_text().splitlines()]
            got = [[(cx - bw / 2) * page["width"], (cy - bh / 2) * page["height"], (cx + bw / 2) * page["width"],
                    (cy + bh / 2) * page["height"]] for cx, cy, bw, bh in rows]
            assert len(got) == len(page["boxes"])  # a print-only page has none, in Label Studio and back
            for box, expected in zip(sorted(got), sorted(b["xyxy"] for b in page["boxes"])):
                assert box == pytest.approx(expected, abs=1.0), kind  # every box within a pixel

    stage(project, "source", "custom")
    stage(project, "split")
    stage(project, "train")  # one tiny epoch on the pages labelled in Label Studio
    metrics = json.loads((project / "metrics" / "train.json").read_text())
    assert metrics["epochs"] == 1

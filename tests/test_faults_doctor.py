"""Faults and bad input for `python -m hwdetect.doctor`: arguments, params.yaml, and pretrained weights that are wrong
or cannot be fetched. Each case runs the real command in a copy of the project (tests/faults.py): one line, exit
code 2, every file as it was."""
from __future__ import annotations

import functools
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import copy_project, run, write_params
from faults import refused

WEIGHTS = Path("models/pretrained/yolov8n.pt")


@pytest.fixture(scope="module")
def doctor_project(tmp_path_factory) -> Path:
    """A copy of the project whose Ultralytics settings already exist, so that a run changes none of its files."""
    project = copy_project(tmp_path_factory.mktemp("doctor") / "project")
    run([sys.executable, "-c", "from hwdetect.training import runtime; runtime.setup()"], project)
    return project


@pytest.fixture
def project_copy(doctor_project: Path):
    """The module's project, with params.yaml and the weights folder put back after each case."""
    params = (doctor_project / "params.yaml").read_bytes()
    yield doctor_project
    (doctor_project / "params.yaml").write_bytes(params)
    (doctor_project / WEIGHTS).unlink(missing_ok=True)


@pytest.fixture
def empty_site(tmp_path: Path):
    """A local web server with no files: every download is HTTP 404 (answered at once, never retried)."""
    (tmp_path / "site").mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/assets"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("arguments, names", [
    (["--bogus"], ["unrecognized arguments: --bogus", "--help"]),
    (["--profile", "nosuch"], ["--profile nosuch: not in params.yaml", "cpu, rtx3050, production"]),
    (["--profile", ""], ["--profile '': not in params.yaml"]),
    (["--profile"], ["--profile: expected one argument"]),
], ids=["unknown option", "unknown profile", "empty profile", "profile without a value"])
def test_bad_arguments_are_refused_in_one_line(arguments, names, project_copy):
    refused(["hwdetect.doctor", *arguments], project_copy, *names)


def test_a_profile_value_the_params_check_refuses_is_named_with_its_line(project_copy):
    write_params(project_copy, {"profiles": {"cpu": {"imgsz": 100}}})
    refused(["hwdetect.doctor"], project_copy, "params.yaml:", "profiles.cpu.imgsz", "not a multiple of 32")


def test_a_missing_params_file_is_refused(project_copy):
    (project_copy / "params.yaml").unlink()
    refused(["hwdetect.doctor"], project_copy, "params.yaml")


def test_weights_that_do_not_match_their_pin_are_named_and_kept(project_copy):
    (project_copy / WEIGHTS).write_bytes(b"not the pinned weights")
    refused(["hwdetect.doctor", "--profile", "rtx3050"], project_copy, WEIGHTS.as_posix(), "does not match",
            "profiles.rtx3050.sha256")


def test_missing_weights_that_cannot_be_fetched_leave_nothing_behind(project_copy, empty_site):
    write_params(project_copy, {"train": {"weights_url": empty_site}})
    line = refused(["hwdetect.doctor", "--profile", "rtx3050", "--fetch"], project_copy, "yolov8n.pt: HTTP 404",
                   "check train.weights_url")
    assert sorted(p.name for p in (project_copy / WEIGHTS.parent).iterdir()) == ["README.md"], line

"""`make push`, `make pull` and `make status` when the remote cannot be used: an endpoint nothing listens on, no
credentials, a bucket that does not exist, a remote that is not configured. Each ends in seconds with one line
naming the remote, its bucket or the missing credentials and the fix, exit code 2, and every file as it was."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from conftest import copy_project, run
from faults import assert_one_line_error, refused
from test_team import BUCKET, CREDENTIALS, free_port, s3  # noqa: F401  (s3: the local S3 server fixture)

NO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
                  "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
FAST = 20  # seconds: DVC alone took over a minute to give up on an endpoint that is down


@pytest.fixture(scope="module")
def shared(tmp_path_factory, s3) -> Path:  # noqa: F811
    """A project with one pushed output and four remotes: `storage` (the default, working), `down` (an endpoint
    nothing listens on), `nobucket` (a bucket that does not exist) and `folder` (a local folder that is missing)."""
    p = copy_project(tmp_path_factory.mktemp("faults-team") / "project")
    run(["git", "init", "-q"], p)
    dvc = [sys.executable, "-m", "dvc"]
    for name, url, endpoint in (("storage", f"s3://{BUCKET}/hwdetect", s3), ("down", f"s3://{BUCKET}/hwdetect",
                                f"http://127.0.0.1:{free_port()}"), ("nobucket", "s3://no-such-bucket/hwdetect", s3)):
        run([*dvc, "remote", "add", name, url], p)
        run([*dvc, "remote", "modify", "--local", name, "endpointurl", endpoint], p)
    run([*dvc, "remote", "add", "folder", str(p.parent / "mounted-share")], p)
    run([*dvc, "remote", "default", "storage"], p)
    run([*dvc, "repro", "preflight"], p)
    run(["git", "add", "-A"], p)
    run(["git", "commit", "-qm", "remotes"], p)
    run([sys.executable, "-m", "hwdetect.push"], p, env=CREDENTIALS)
    return p


# (command, remote, environment, words the one line must hold)
CASES = [
    ("push", "down", CREDENTIALS, ["remote 'down'", "cannot connect to http://127.0.0.1:", "endpointurl"]),
    ("pull", "down", CREDENTIALS, ["remote 'down'", "cannot connect to", "start the server"]),
    ("status", "down", CREDENTIALS, ["remote 'down'", "cannot connect to", "endpointurl"]),
    ("push", "storage", NO_CREDENTIALS, ["remote 'storage'", "no S3 credentials found", "AWS_ACCESS_KEY_ID"]),
    ("pull", "storage", NO_CREDENTIALS, ["remote 'storage'", "no S3 credentials found", "access_key_id"]),
    ("push", "nobucket", CREDENTIALS, ["bucket 'no-such-bucket' does not exist at http://127.0.0.1:",
                                       "dvc remote modify nobucket url"]),
    ("pull", "nobucket", CREDENTIALS, ["remote 'nobucket'", "bucket 'no-such-bucket' does not exist"]),
    ("push", "storage", {**CREDENTIALS, "AWS_PROFILE": "absent"}, ["remote 'storage'", "profile (absent) could not",
                                                                   "dvc remote modify --local storage profile"]),
    ("pull", "folder", {}, ["remote 'folder'", "mounted-share does not exist"]),
    ("push", "nowhere", CREDENTIALS, ["remote 'nowhere' is not configured",
                                      "(remotes: down, folder, nobucket, storage)"]),
]


@pytest.mark.parametrize("command, remote, env, words", CASES, ids=[f"{c}-{r}-{w[-1][:20]}" for c, r, _, w in CASES])
def test_an_unusable_remote_is_one_line_in_seconds_and_nothing_changes(shared, command, remote, env, words):
    args = [f"hwdetect.{command}", "--remote", remote] if command != "status" else \
        ["hwdetect.status", f"--remote={remote}"]
    start = time.monotonic()
    line = refused(args, shared, *words, env=env)
    assert time.monotonic() - start < FAST, line
    assert "<stderr>" not in line


def test_a_project_without_a_remote_is_told_how_to_add_one(tmp_path):
    p = copy_project(tmp_path / "project")
    run(["git", "init", "-q"], p)
    for command in ("hwdetect.push", "hwdetect.pull"):
        refused([command], p, "no DVC remote is set; add one: dvc remote add -d storage s3://")


def test_pull_restores_what_was_pushed_and_names_what_the_remote_lacks(shared):
    """The working remote: `make pull` restores the pushed output, and names in one line the outputs nobody pushed
    (here every stage after preflight never ran); `make status --remote` compares cache and remote."""
    (shared / "data" / "preflight.json").unlink()
    pulled = run([sys.executable, "-m", "hwdetect.pull"], shared, env=CREDENTIALS, check=False)
    line = assert_one_line_error(pulled, "remote 'storage'", "outputs are neither in the cache nor in the remote (",
                                 "models/detector/best.pt", "make push", "make repro")
    assert "data/preflight.json" not in line and (shared / "data" / "preflight.json").is_file()
    remote = run([sys.executable, "-m", "hwdetect.status", "--remote"], shared, env=CREDENTIALS)
    assert "Cache and remote 'storage' are in sync." in remote.stdout
    local = run([sys.executable, "-m", "hwdetect.status"], shared).stdout.splitlines()
    assert "train:" in local and "preflight:" not in local  # preflight's output is back and up to date

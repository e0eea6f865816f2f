"""The operating system says no: a full disk, a file-size limit, a read-only file system, no permission, a file where
a folder belongs, a last.pt cut short. Each command ends with one line naming the path and the fix, exit code 2,
and every file that existed before is as it was."""
from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BIN, copy_project, make_split, run, stage
from faults import assert_one_line_error, assert_unchanged, snapshot
from test_faults_evaluate import evaluate_args, make_dataset
from test_faults_predict import args, fault_project, model_files  # noqa: F401 (fixtures)

NOBODY = 65534
FILE_SIZE_LIMIT = 300_000  # bytes: Python and the libraries start, the first large output does not fit


def noisy_page(folder: Path) -> Path:
    """A page whose annotated copy is a JPEG of a few megabytes (noise does not compress)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)).save(folder / "page.png")
    return folder


def refused_under(cmd: list[str], cwd: Path, *names: str, watch: tuple[Path, ...] = (), preexec=None) -> str:
    """tests/faults.py `refused`, with the command started under `preexec` (limits, another user)."""
    roots = (cwd, *watch)
    before = snapshot(*roots)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([sys.executable, "-m", *cmd], cwd=cwd, env=env, capture_output=True, text=True,
                            preexec_fn=preexec)
    line = assert_one_line_error(result, *names)
    assert_unchanged(before, *roots)
    return line


def small_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


@pytest.mark.parametrize("command", ("hwdetect.predict", "hwdetect.preannotate"))
def test_a_file_size_limit_reached_while_writing_is_one_line(command, fault_project, model_files, tmp_path):
    source, out = noisy_page(tmp_path / "in"), tmp_path / "out"
    line = refused_under(args(command, model_files / "detector.pt", source, out), fault_project, "File too large",
                         "ulimit -f", str(tmp_path), watch=(model_files, tmp_path), preexec=small_files)
    assert not out.exists(), line


def test_evaluate_under_a_file_size_limit_is_one_line(fault_project, model_files, tmp_path):
    data = make_dataset(tmp_path / "ds")
    rng = np.random.default_rng(0)
    for k in range(2):  # large test pages: the worst images drawn from them outgrow the limit
        Image.fromarray(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)).save(
            data.parent / "images" / "test" / f"test{k}.png")
    refused_under(evaluate_args(model_files / "detector.pt", data, tmp_path / "out"), fault_project,
                  "File too large", watch=(model_files, tmp_path), preexec=small_files)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def tmpfs(tmp_path: Path):
    """Mount small file systems (root only); unmounted afterwards."""
    mounted = []

    def mount(name: str, options: str) -> Path:
        where = tmp_path / name
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", str(where)], check=False)


def test_a_full_disk_is_one_line_and_the_output_is_not_left_half_written(fault_project, model_files, tmp_path,
                                                                         tmpfs):
    disk = tmpfs("disk", "size=256k")
    (disk / "keep.txt").write_text("mine\n")
    source = noisy_page(tmp_path / "in")
    line = refused_under(args("hwdetect.predict", model_files / "detector.pt", source, disk / "out"), fault_project,
                         "No space left on device", "free some disk space", str(disk),
                         watch=(model_files, tmp_path / "in", disk))
    assert sorted(os.listdir(disk)) == ["keep.txt"], line


@pytest.mark.parametrize("command", ("hwdetect.predict", "stages.evaluate"))
def test_a_read_only_file_system_is_one_line(command, fault_project, model_files, tmp_path, tmpfs):
    disk = tmpfs("readonly", "ro,size=64k")
    if command == "stages.evaluate":
        cmd = evaluate_args(model_files / "detector.pt", make_dataset(tmp_path / "ds"), disk / "out")
    else:
        cmd = args(command, model_files / "detector.pt", noisy_page(tmp_path / "in"), disk / "out")
    refused_under(cmd, fault_project, "Read-only file system", "writable disk", str(disk),
                  watch=(model_files, tmp_path))


@pytest.mark.parametrize("command", ("hwdetect.predict", "hwdetect.preannotate", "stages.evaluate"))
def test_a_file_where_the_output_folder_belongs_is_one_line(command, fault_project, model_files, tmp_path):
    (tmp_path / "report.txt").write_text("a file, not a folder\n")
    out = tmp_path / "report.txt" / "out"
    if command == "stages.evaluate":
        cmd = evaluate_args(model_files / "detector.pt", make_dataset(tmp_path / "ds"), out)
    else:
        cmd = args(command, model_files / "detector.pt", noisy_page(tmp_path / "in"), out)
    line = refused_under(cmd, fault_project, "report.txt", watch=(model_files, tmp_path))
    assert "not a folder" in line or "Not a directory" in line, line


def as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_no_permission_to_write_the_output_is_one_line(model_files, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the command as user nobody")
    try:
        probe = subprocess.run([sys.executable, "-c", "import torch, ultralytics"], capture_output=True,
                               preexec_fn=as_nobody)
        problem = probe.stderr.decode().strip().splitlines()[-1:] if probe.returncode else None
    except OSError as err:
        problem = err.strerror
    if problem:
        pytest.skip(f"user nobody cannot run this virtualenv's Python {sys.executable} ({problem})")
    top = tmp_path_factory.mktemp("shared")
    project = copy_project(top / "project")
    run([sys.executable, "-c", "from hwdetect.training import runtime; runtime.setup()"], project)
    source, locked = noisy_page(top / "in"), top / "locked"
    locked.mkdir()
    model = top / "detector.pt"
    model.write_bytes((model_files / "detector.pt").read_bytes())
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.chmod(os.path.join(dirpath, name), 0o755 if name in dirnames else 0o644)
    for folder in (top, *top.parents):
        if folder != Path("/"):
            os.chmod(folder, os.stat(folder).st_mode | 0o005)
    os.chmod(locked, 0o755)  # owned by root: nobody cannot write in it
    refused_under(args("hwdetect.predict", model, source, locked / "out"), project, "Permission denied",
                  "permission", "locked", watch=(top,), preexec=as_nobody)


def test_no_permission_to_write_is_one_line_even_for_root_without_its_overrides(fault_project, model_files,
                                                                                tmp_path):
    """root without CAP_DAC_OVERRIDE (as in a locked-down container) meets a read-only folder like any user."""
    import shutil

    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv (util-linux) to drop root's permission overrides")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m",
           *args("hwdetect.predict", model_files / "detector.pt", noisy_page(tmp_path / "in"), locked / "out")]
    before = snapshot(fault_project, tmp_path)
    result = run(cmd, fault_project, check=False)
    assert_one_line_error(result, "locked", "Permission denied", "permission")
    assert_unchanged(before, fault_project, tmp_path)
    os.chmod(locked, 0o755)


@pytest.mark.parametrize("code, fix", [(errno.ENOSPC, "free some disk space"), (errno.EDQUOT, "disk quota"),
                                       (errno.EMFILE, "ulimit -n"), (errno.EACCES, "permission")])
def test_each_os_error_names_the_path_and_a_fix_by_its_kind(code, fix):
    from hwdetect.cli import os_error_line

    line = os_error_line(OSError(code, os.strerror(code), "/data/out/page.jpg"))
    assert line == f"/data/out/page.jpg: {os.strerror(code)}; {line.split('; ', 1)[1]}" and fix in line


@pytest.fixture(scope="module")
def split_project(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("cut") / "project")
    make_split(project)
    return project


@pytest.mark.slow
@pytest.mark.parametrize("cut", ("truncated", "empty", "random"))
def test_a_last_pt_cut_short_does_not_block_a_fresh_training(cut, split_project, model_files):
    weights = split_project / "runs" / "train" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    data = (model_files / "detector.pt").read_bytes()
    content = {"truncated": data[: len(data) // 3], "empty": b"", "random": os.urandom(4096)}[cut]
    (weights / "last.pt").write_bytes(content)
    for resume in ("0", "1"):
        result = stage(split_project, "train", check=False, env={"RESUME": resume})
        assert result.returncode == 0, result.stderr[-2000:]
        output = (result.stdout + result.stderr).splitlines()
        ignored = [line for line in output if line.startswith("train: ignoring")]
        assert len(ignored) == 1 and "last.pt" in ignored[0] and "from scratch" in ignored[0], ignored
        assert (split_project / "models" / "detector" / "best.pt").stat().st_size > 0
        (weights / "last.pt").write_bytes(content)

"""Shared fixtures: the real params shrunk to tiny sizes, and throw-away git copies of the project."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hwdetect.training import runtime

runtime.configure_environment()  # before any test module imports torch, so the CPU pins apply in-process too
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TINY = {
    "synthetic": {"pages": 16, "width": 256, "height": 288, "lines": [2, 4], "workers": 2},
    "split": {"ratios": {"train": 0.6, "val": 0.2, "test": 0.2}},
    "profiles": {"cpu": {"epochs": 1, "imgsz": 64, "batch": 4}},
    "evaluate": {"examples": 2},
    "verifier": {"pages": 8, "val_pages": 4, "widths": [256], "epochs": 1, "batch": 32},
}


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def write_params(project: Path, overrides: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    (project / "params.yaml").write_text(yaml.safe_dump(merge(params, overrides), sort_keys=False))


def run(cmd: list[str], cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
                "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@localhost",
                "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@localhost", **(env or {})}
    result = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def project_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in listed if f and (ROOT / f).is_file() and not f.startswith(("metrics/", "dvc.lock"))]


def copy_project(dst: Path) -> Path:
    """A copy of the project's source files (no data, models, lock or metrics), with tiny params."""
    for f in project_files():
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    write_params(dst, TINY)
    return dst


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory) -> Path:
    """A tiny project with data split and a model trained (shared by tests that only read it)."""
    p = copy_project(tmp_path_factory.mktemp("trained") / "project")
    make_split(p)
    stage(p, "train")
    return p


@pytest.fixture
def git_project(project: Path) -> Path:
    """The tiny project as its own git repository with one commit."""
    run(["git", "init", "-q"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "tiny project"], project)
    return project


def stage(project: Path, name: str, *args: str, check: bool = True, env: dict | None = None
          ) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", f"stages.{name}", *args], project, check=check, env=env)


def make_split(project: Path) -> None:
    """The tiny synthetic data, indexed and split, as `dvc repro split` would make it."""
    stage(project, "synthetic")
    stage(project, "source", "synthetic")
    stage(project, "split")


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `gpu` need a CUDA GPU: skipped, saying why, where torch sees none."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU; torch sees none on this machine"))

"""Every path the pipeline reads or writes, defined once. dvc.yaml names the same outputs (a test keeps them equal).

All paths are absolute (under ROOT), so the code works from any working directory; `shown()` turns one back into
the project-relative form people know, for messages and for the files that record paths.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params.yaml"
PREFLIGHT = ROOT / "data" / "preflight.json"  # written once params, hardware and weights pass the check

# Data: one folder per source, its index for the split stage, and the merged split.
SOURCES = ROOT / "data" / "sources"
SELECTED = ROOT / "data" / "selected"
SPLIT = ROOT / "data" / "split"
DATASET = SPLIT / "dataset.yaml"
TEST_IMAGES = SPLIT / "images" / "test"
IAM_MANIFEST = ROOT / "data" / "iam" / "manifest.json"
IAM_CREDENTIALS = ROOT / ".iam-credentials"

# The model and its reports.
MODEL = ROOT / "models" / "detector" / "best.pt"
ONNX = MODEL.with_suffix(".onnx")
VERIFIER = MODEL.with_name("verifier.pt")  # found beside any detector file of that name (hwdetect/verify)
VERIFIER_ONNX = VERIFIER.with_suffix(".onnx")
SYNTHETIC_REPORT = ROOT / "reports" / "synthetic"
TRAIN_REPORT = ROOT / "reports" / "train"
TRAIN_RESULTS = TRAIN_REPORT / "results.csv"
EVAL_REPORT = ROOT / "reports" / "eval"

# Metrics tracked by git, and wall-clock figures kept out of it (git-ignored, outside dvc.lock).
METRICS = ROOT / "metrics"
TIMING = METRICS / "timing"

# Scratch space (git-ignored): Ultralytics' settings and its working runs.
ULTRALYTICS_CONFIG = ROOT / ".ultralytics"
RUNS = ROOT / "runs"
TRAIN_RUN = RUNS / "train"
EVAL_RUN = RUNS / "eval"


def source_dir(name: str) -> Path:
    """data/sources/<name>: images/, labels/ and groups.csv of one data source."""
    return SOURCES / name


def source_index(name: str) -> Path:
    """data/selected/<name>.csv: the source's index, written by stage source@<name>."""
    return SELECTED / f"{name}.csv"


def metrics_file(stage: str) -> Path:
    return METRICS / f"{stage}.json"


def timing_file(stage: str) -> Path:
    return TIMING / f"{stage}.json"


def shown(path: Path) -> str:
    """A path as the user knows it: relative to the project root when inside it."""
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else str(path)

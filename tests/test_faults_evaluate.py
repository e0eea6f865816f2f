"""Faults and bad input for `evaluate` (any model on any dataset.yaml) and `export`: model files that are no detector,
dataset files that Ultralytics would answer with a traceback or a download, and a GPU profile on a machine without
one. Each case runs the real stage in a copy of the project (tests/faults.py)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import copy_project, run, stage, write_params
from faults import refused
from test_faults_predict import BAD_MODELS, fault_project, model_files, page  # noqa: F401 (fixtures)

DATASET = {"train": "images/train", "val": "images/val", "test": "images/test", "names": {0: "handwriting"}}
# (what dataset.yaml holds: text, bytes, or None for no file; evaluate's extra arguments; what the line says)
BAD_DATASETS = {
    "missing": (None, (), "not found"),
    "not-yaml": ("train: [images/train\nval: images/val\n", (), "not valid YAML"),
    "not-utf8": (b"names: {0: \xe9criture}\ntrain: images/train\n", (), "not UTF-8"),
    "a-list": ("- images/train\n- images/val\n", (), "expected a mapping"),
    "names-missing": ({k: v for k, v in DATASET.items() if k != "names"}, (), "names: expected the class names"),
    "names-not-numbers": ({**DATASET, "names": {"handwriting": 0}}, (), "names: key 'handwriting'"),
    "names-with-gap": ({**DATASET, "names": {0: "a", 2: "b"}}, (), "numbered [0, 2]"),
    "path-missing": ({**DATASET, "path": "/nonexistent/dataset"}, (), "path: /nonexistent/dataset"),
    "split-not-in-file": (DATASET, ("--split", "holdout"), "no split 'holdout'"),
    "split-folder-missing": ({**DATASET, "test": "images/elsewhere"}, (), "test: images/elsewhere not found"),
    "split-without-images": ({**DATASET, "test": "images/empty"}, (), "test: no images"),
    "train-missing": ({k: v for k, v in DATASET.items() if k != "train"}, (), "train: missing"),
}


def make_dataset(root: Path) -> Path:
    """A tiny labelled dataset: two pages a split, one line box each; returns its dataset.yaml."""
    for split in ("train", "val", "test"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for k in range(2):
            page(root / "images" / split / f"{split}{k}.png")
            (root / "labels" / split / f"{split}{k}.txt").write_text("0 0.5 0.44 0.875 0.1\n")
    (root / "images" / "empty").mkdir()
    (root / "dataset.yaml").write_text(yaml.safe_dump(DATASET, sort_keys=False))
    return root / "dataset.yaml"


def evaluate_args(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return ["stages.evaluate", "--model", str(model), "--data", str(data), "--out", str(out), *extra]


@pytest.mark.parametrize("name, problem", BAD_MODELS, ids=[m for m, _ in BAD_MODELS])
def test_evaluate_refuses_a_model_file_that_is_no_detector_of_the_dataset_classes(name, problem, fault_project,
                                                                                   model_files, tmp_path):
    data = make_dataset(tmp_path / "ds")
    refused(evaluate_args(model_files / name, data, tmp_path / "out"), fault_project, name, problem,
            watch=(model_files, tmp_path))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", BAD_DATASETS)
def test_evaluate_refuses_a_bad_dataset_file_in_one_line_naming_it(case, fault_project, model_files, tmp_path):
    content, extra, problem = BAD_DATASETS[case]
    data = make_dataset(tmp_path / "ds")
    if content is None:
        data.unlink()
    elif isinstance(content, (str, bytes)):
        data.write_bytes(content.encode() if isinstance(content, str) else content)
    else:
        data.write_text(yaml.safe_dump(content, sort_keys=False))
    line = refused(evaluate_args(model_files / "detector.pt", data, tmp_path / "out", *extra), fault_project,
                   "dataset.yaml", problem, watch=(model_files, tmp_path))
    assert not (tmp_path / "out").exists(), line


def test_evaluate_refuses_a_folder_given_as_the_dataset_file(fault_project, model_files, tmp_path):
    make_dataset(tmp_path / "ds")
    refused(evaluate_args(model_files / "detector.pt", tmp_path / "ds", tmp_path / "out"), fault_project, "ds",
            "is a folder", watch=(model_files, tmp_path))


def test_evaluate_refuses_a_gpu_profile_on_a_machine_without_cuda(model_files, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    project = copy_project(tmp_path / "project")
    write_params(project, {"profiles": {"cpu": {"device": 0}}})
    data = make_dataset(tmp_path / "ds")
    refused(evaluate_args(model_files / "detector.pt", data, tmp_path / "out"), project, "profiles.cpu.device",
            "no CUDA GPU", "device: cpu", watch=(model_files, tmp_path))


@pytest.fixture(scope="session")
def export_project(tmp_path_factory, model_files) -> Path:
    """A project with a hand-made data/split and the untrained detector as models/detector/best.pt."""
    project = copy_project(tmp_path_factory.mktemp("export") / "project")
    make_dataset(project / "data" / "split")
    (project / "models" / "detector").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_files / "detector.pt", project / "models" / "detector" / "best.pt")
    run([sys.executable, "-c", "from hwdetect.training import runtime; runtime.setup()"], project)
    return project


EXPORT_MODELS = [m for m in BAD_MODELS if m[0] in ("truncated.pt", "empty.pt", "classifier.pt", "coco80.pt",
                                                   "text.pt", "tensor.pt")]


@pytest.mark.parametrize("name, problem", EXPORT_MODELS, ids=[m for m, _ in EXPORT_MODELS])
def test_export_refuses_a_best_pt_that_is_no_detector(name, problem, export_project, model_files):
    best = export_project / "models" / "detector" / "best.pt"
    shutil.copyfile(model_files / name, best)
    try:
        refused(["stages.export"], export_project, "models/detector/best.pt", problem)
    finally:
        shutil.copyfile(model_files / "detector.pt", best)
    assert not (export_project / "models" / "detector" / "best.onnx").exists()


def test_export_refuses_a_dataset_file_that_is_not_yaml(export_project):
    data = export_project / "data" / "split" / "dataset.yaml"
    good = data.read_bytes()
    data.write_text("names: {0: handwriting\n")
    try:
        refused(["stages.export"], export_project, "data/split/dataset.yaml", "not valid YAML")
    finally:
        data.write_bytes(good)


@pytest.mark.slow
def test_export_runs_on_the_cpu_whatever_device_the_profile_names(export_project):
    """Export and its parity check run on the CPU by design, so a GPU profile is no reason to refuse it."""
    params = (export_project / "params.yaml").read_text()
    try:
        write_params(export_project, {"profiles": {"cpu": {"device": 0}}})
        result = stage(export_project, "export", check=False)
    finally:
        (export_project / "params.yaml").write_text(params)
        (export_project / "models" / "detector" / "best.onnx").unlink(missing_ok=True)
    assert result.returncode == 0, result.stderr[-2000:]

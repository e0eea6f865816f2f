"""Bad params.yaml values and files: the real check (`python -m hwdetect.config.params`) and the stages refuse them
before any work with one line `error: params.yaml:<line>: <dotted.key>: what; fix`, exit 2, nothing changed."""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_project, run, write_params
from faults import refused

CHECK = ["hwdetect.config.params"]
AUTO = {"optimizer": "auto"}


def key_line(project: Path, dotted: str) -> str:
    """`params.yaml:<line>: <dotted.key>:` as the error names it, the line read from the file written."""
    node, line = yaml.compose((project / "params.yaml").read_text()), None
    for part in dotted.split("."):
        key, node = next((k, v) for k, v in node.value if k.value == part)
        line = key.start_mark.line + 1
    return f"params.yaml:{line}: {dotted}:"


# (overrides, dotted key refused, words the line must hold)
BAD_VALUES = [
    ({"profiles": {"cpu": {"imgsz": 321}}}, "profiles.cpu.imgsz", "silently use 352); use 320 or 352"),
    ({"profiles": {"cpu": {"imgsz": 8192}}}, "profiles.cpu.imgsz", "<= 4,096"),
    ({"profiles": {"cpu": {"imgsz": 16}}}, "profiles.cpu.imgsz", ">= 32"),
    ({"synthetic": {"pages": 1_000_001}}, "synthetic.pages", "<= 1,000,000"),
    ({"synthetic": {"pages": 900_000, "width": 8192, "height": 8192}}, "synthetic.pages", "are free there"),
    ({"synthetic": {"width": 10_000}}, "synthetic.width", "<= 8,192"),
    ({"synthetic": {"height": 0}}, "synthetic.height", ">= 64"),
    ({"synthetic": {"contact_sheet": 0}}, "synthetic.contact_sheet", ">= 1"),
    ({"synthetic": {"contact_sheet": 65}}, "synthetic.contact_sheet", "<= 64"),
    ({"synthetic": {"contact_sheet": 20}}, "synthetic.contact_sheet", "only 16 are generated"),
    ({"synthetic": {"workers": 1000}}, "synthetic.workers", "<= 256"),
    ({"iam": {"workers": 257}}, "iam.workers", "<= 256"),
    ({"train": {"threads": 10**6}}, "train.threads", "<= 256"),
    ({"evaluate": {"conf": 1.0}}, "evaluate.conf", "[0, 1)"),
    ({"evaluate": {"conf": -0.1}}, "evaluate.conf", "[0, 1)"),
    ({"evaluate": {"iou": 0}}, "evaluate.iou", "(0, 1]"),
    ({"evaluate": {"iou": 1.5}}, "evaluate.iou", "(0, 1]"),
    ({"evaluate": {"examples": 101}}, "evaluate.examples", "<= 100"),
    ({"verifier": {"widths": [640, 32]}}, "verifier.widths", "each 64 to 8192"),
    ({"verifier": {"widths": []}}, "verifier.widths", "a list of page widths"),
    ({"verifier": {"threshold": 1.0}}, "verifier.threshold", "[0, 1)"),
    ({"verifier": {"epochs": 0}}, "verifier.epochs", ">= 1"),
    ({"verifier": {"printed_items": -1}}, "verifier.printed_items", ">= 0"),
    ({"verifier": {"lr": 0}}, "verifier.lr", "(0, 1]"),
    ({"verifier": {"snap": "yes"}}, "verifier.snap", "true or false"),
    ({"export": {"opset": 8}}, "export.opset", "expected an ONNX opset from 9 to"),
    ({"export": {"opset": 99}}, "export.opset", "expected an ONNX opset from 9 to"),
    ({"export": {"max_map_drop": 1.5}}, "export.max_map_drop", "[0, 1]"),
    ({"export": {"max_output_diff": -0.01}}, "export.max_output_diff", "[0, 1]"),
    ({"profiles": {"cpu": {"lr0": 0.01}}}, "profiles.cpu.lr0", "set profiles.cpu.optimizer: AdamW (or SGD)"),
    ({"profiles": {"cpu": {**AUTO, "momentum": 0.9}}}, "profiles.cpu.momentum", "optimizer auto"),
    ({"profiles": {"cpu": {"epochs": 100_000}}}, "profiles.cpu.epochs", "<= 10,000"),
    ({"profiles": {"rtx3050": {"patience": 10**6}}}, "profiles.rtx3050.patience", "<= 10,000"),
    ({"profiles": {"cpu": {"workers": 1000}}}, "profiles.cpu.workers", "<= 256"),
    ({"profiles": {"cpu": {"cache": "memory"}}}, "profiles.cpu.cache", "ram or disk"),
    ({"profiles": {"cpu": {"amp": True}}}, "profiles.cpu.amp", "set amp: false"),
    ({"profiles": {"cpu": {"fraction": 1.5}}}, "profiles.cpu.fraction", "(0, 1]"),
    ({"profiles": {"cpu": {"close_mosaic": -1}}}, "profiles.cpu.close_mosaic", ">= 0"),
    ({"profiles": {"cpu": {"mosaic": 2.0}}}, "profiles.cpu.mosaic", "[0, 1]"),
    ({"profiles": {"cpu": {"cos_lr": "yes"}}}, "profiles.cpu.cos_lr", "expected true or false"),
    ({"profiles": {"cpu": {"box": "big"}}}, "profiles.cpu.box", "expected an int or float"),
    ({"profiles": {"cpu": {"max_det": 0}}}, "profiles.cpu.max_det", ">= 1"),
    ({"profiles": {"cpu": {"warmup_epochs": None}}}, "profiles.cpu.warmup_epochs", "must not be null"),
    ({"profiles": {"cpu": {"seed": 3}}}, "profiles.cpu.seed", "set by the pipeline (to the top-level `seed`)"),
    ({"profiles": {"cpu": {"data": "mine.yaml"}}}, "profiles.cpu.data", "set by the pipeline"),
    ({"profiles": {"rtx3050": {"lr0": 5.0}}}, "profiles.rtx3050.lr0", "[0, 1]"),
    ({"profiles": {"cpu": {"epoch": 3}}}, "profiles.cpu.epoch", "did you mean 'epochs'?"),
    ({"train": {"thread": 2}}, "train.thread", "did you mean 'threads'?"),
    ({"synthetic": {"pages": "many"}}, "synthetic.pages", "expected int, got str"),
    ({"seed": 2**40}, "seed", "<= 4,294,967,295"),
    ({"seed": 10**30}, "seed", "far too large"),
    ({"synthetic": {"layouts": {"iam_form": float("nan")}}}, "synthetic.layouts.iam_form", "not a finite number"),
    ({"evaluate": {"iou": float("inf")}}, "evaluate.iou", "not a finite number"),
    ({"profiles": {"rtx3050": {"lr0": float("-inf")}}}, "profiles.rtx3050.lr0", "not a finite number"),
    # A profile's model must be a YOLO box detector: DVC removes the previous model before training starts.
    ({"profiles": {"cpu": {"model": "yolov8n-cls.yaml"}}}, "profiles.cpu.model", "is an image classifier, not a box"),
    ({"profiles": {"cpu": {"model": "yolov8n-seg.yaml"}}}, "profiles.cpu.model", "is a segmentation model"),
    ({"profiles": {"cpu": {"model": "yolov8s-pose.yaml"}}}, "profiles.cpu.model", "is a pose model"),
    ({"profiles": {"cpu": {"model": "yolov8n-obb.yaml"}}}, "profiles.cpu.model", "is an oriented-box model"),
    ({"profiles": {"cpu": {"model": "yolov8s-worldv2.yaml"}}}, "profiles.cpu.model", "needs text prompts"),
    ({"profiles": {"cpu": {"model": "rtdetr-l.yaml"}}}, "profiles.cpu.model", "is an RT-DETR transformer"),
    ({"profiles": {"cpu": {"model": "yolov8q.yaml"}}}, "profiles.cpu.model", "nor an architecture Ultralytics knows"),
    ({"profiles": {"cpu": {"model": "models/mine.yaml"}}}, "profiles.cpu.model", "neither a file in the project"),
    ({"profiles": {"rtx3050": {"model": "yolov8n-cls.pt"}}}, "profiles.rtx3050.model", "names an image classifier"),
    ({"profiles": {"rtx3050": {"model": "yolo11n-seg.pt"}}}, "profiles.rtx3050.model", "names a segmentation model"),
]


@pytest.mark.parametrize("overrides, key, words", BAD_VALUES, ids=[f"{k}:{w[:24]}" for _, k, w in BAD_VALUES])
def test_params_check_refuses_a_bad_value_naming_line_and_key(project, overrides, key, words):
    write_params(project, overrides)
    line = refused(CHECK, project, key_line(project, key), words)
    assert line.count(";") >= 1 or "did you mean" in line, f"no fix given: {line}"


# Files that are no params file at all: (what to write, words the line must hold).
BAD_FILES = [
    (b"seed: 0\n# \xff\xfe not text\n", "params.yaml:2: not UTF-8 text (byte 0xff)"),
    ("seed: 0\n# graine aléatoire\n".encode("latin-1"),
     "params.yaml:2: not UTF-8 text (byte 0xe9); save it as UTF-8"),
    (b"", "params.yaml: empty, not a mapping of parameters"),
    (b"- seed\n- data\n", "params.yaml: a list, not a mapping of parameters"),
    (b"seed: 0\nseed: 1\n", "params.yaml:2: seed: appears twice (also on line 1); keep one"),
    (b"seed: &s 0\nother: *s\n", "params.yaml:1: YAML anchors and aliases"),
    (b"seed: !!python/object:os.system {}\n", "params.yaml:1: YAML tag 'tag:yaml.org,2002:python/object:os.system'"),
    (b"seed: [1\n", "params.yaml:2: not valid YAML"),
]


@pytest.mark.parametrize("content, words", BAD_FILES, ids=[w.split(": ", 1)[-1][:28] for _, w in BAD_FILES])
def test_params_check_refuses_a_file_that_is_no_params_file(project, content, words):
    (project / "params.yaml").write_bytes(content)
    refused(CHECK, project, words)


def test_params_yaml_that_is_a_folder_is_refused(project):
    (project / "params.yaml").unlink()
    (project / "params.yaml").mkdir()
    (project / "params.yaml" / "keep.txt").write_text("a folder where the file should be\n")
    refused(CHECK, project, "params.yaml: is a folder, expected a file")


# A bad value stops the stage that reads it before it does any work (nothing written, nothing replaced).
STAGES = [
    ("synthetic", {"synthetic": {"contact_sheet": 0}}, "synthetic.contact_sheet"),
    ("synthetic", {"synthetic": {"pages": 900_000, "width": 8192, "height": 8192}}, "synthetic.pages"),
    ("train", {"profiles": {"cpu": {"imgsz": 321}}}, "profiles.cpu.imgsz"),
    ("evaluate", {"evaluate": {"conf": 1.0}}, "evaluate.conf"),
    ("verifier", {"verifier": {"threshold": 1.0}}, "verifier.threshold"),
    ("export", {"export": {"opset": 99}}, "export.opset"),
]


@pytest.mark.parametrize("name, overrides, key", STAGES, ids=[f"{n}:{k}" for n, _, k in STAGES])
def test_stage_refuses_a_bad_value_before_any_work(project, name, overrides, key):
    write_params(project, overrides)
    (project / "data" / "sources" / "synthetic").mkdir(parents=True)
    (project / "data" / "sources" / "synthetic" / "earlier.txt").write_text("made by an earlier run\n")
    before = {p for p in project.rglob("*") if "__pycache__" not in p.parts}
    refused([f"stages.{name}"], project, key_line(project, key))
    assert {p for p in project.rglob("*") if "__pycache__" not in p.parts} == before  # nothing new either


def test_detection_architectures_pass_and_a_project_yaml_is_judged_by_its_head(project):
    for model in ("yolov8n.yaml", "yolov8s-p2.yaml", "yolo11n.yaml", "yolov10n.yaml", "yolov9t.yaml"):
        write_params(project, {"profiles": {"cpu": {"model": model}}})
        run([sys.executable, "-m", *CHECK], project)
    from hwdetect.config.upstream import _package_file
    models = _package_file("ultralytics", "cfg", "models", "v8")
    (project / "models").mkdir(exist_ok=True)
    shutil.copy(models / "yolov8.yaml", project / "models" / "lines.yaml")
    shutil.copy(models / "yolov8-cls.yaml", project / "models" / "pages.yaml")
    write_params(project, {"profiles": {"cpu": {"model": "models/lines.yaml"}}})
    run([sys.executable, "-m", *CHECK], project)
    write_params(project, {"profiles": {"cpu": {"model": "models/pages.yaml"}}})
    refused(CHECK, project, key_line(project, "profiles.cpu.model"), "models/pages.yaml is an image classifier")


def test_preflight_refuses_pinned_weights_that_hold_a_classifier(project):
    """Weights are judged by their content once the preflight stage has them: a pinned classifier is refused."""
    import torch
    from ultralytics.nn.tasks import ClassificationModel

    weights = project / "models" / "pretrained" / "yolov8n.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": ClassificationModel("yolov8n-cls.yaml", nc=2, verbose=False)}, weights)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    write_params(project, {"train": {"weights_url": "http://127.0.0.1:9/offline"},
                           "profiles": {"cpu": {"model": "yolov8n.pt", "sha256": sha}}})
    line = refused(["stages.preflight"], project, "params.yaml: profiles.cpu.model: yolov8n.pt is an image classifier")
    assert line.endswith("use a detection architecture such as yolov8n.yaml, or pinned detection weights such as "
                         "yolov8n.pt")
    assert not (project / "data" / "preflight.json").exists()


def git_project_with_real_params(tmp_path: Path) -> Path:
    """A git copy of the project with params.yaml as committed here, aligned comments and all."""
    p = copy_project(tmp_path / "project")
    shutil.copy2(ROOT / "params.yaml", p / "params.yaml")
    run(["git", "init", "-q"], p)
    run(["git", "add", "-A"], p)
    run(["git", "commit", "-qm", "project"], p)
    return p


EXPERIMENTS = [("profiles.cpu.model=yolov8n-cls.yaml", "profiles.cpu.model: yolov8n-cls.yaml is an image classifier"),
               ("profiles.cpu.imgsz=321", "profiles.cpu.imgsz: 321 is not a multiple of 32"),
               ("train.profile=rtx3050", "profiles.rtx3050.device is 0 but torch sees no CUDA GPU")]


@pytest.mark.parametrize("setting, words", EXPERIMENTS, ids=[s for s, _ in EXPERIMENTS])
def test_a_refused_experiment_stops_at_preflight_and_git_shows_the_changed_params(tmp_path, setting, words):
    """`dvc exp run -S` rewrites params.yaml; preflight refuses before any stage that replaces outputs runs (the
    end-to-end test in test_pipeline.py checks every output stays), and git sees the new value even when it keeps the
    line's length (256 → 321, cpu → rtx3050 with the comments aligned)."""
    if setting.startswith("train.profile") and torch_sees_a_gpu():
        pytest.skip("this machine has a CUDA GPU, so the rtx3050 profile is not refused here")
    p = git_project_with_real_params(tmp_path)
    result = run(["dvc", "exp", "run", "-S", setting], p, check=False)
    assert result.returncode != 0 and words in result.stderr, result.stderr[-2000:]
    ran = [line for line in result.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["Running stage 'preflight':"], result.stdout[-2000:]
    assert run(["git", "status", "--porcelain"], p).stdout == " M params.yaml\n"
    key, value = setting.rsplit("=", 1)
    changed = [line for line in run(["git", "diff", "params.yaml"], p).stdout.splitlines() if line[:1] in "+-"]
    assert len(changed) == 4 and changed[3].startswith(f"+  ") and f": {value}" in changed[3], changed
    run(["git", "restore", "params.yaml"], p)
    assert (p / "params.yaml").read_bytes() == (ROOT / "params.yaml").read_bytes()


def torch_sees_a_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def test_a_large_synthetic_set_is_a_one_line_warning_with_its_estimate(project):
    write_params(project, {"synthetic": {"pages": 20_001, "width": 64, "height": 64}})
    result = run([sys.executable, "-m", *CHECK], project)
    lines = result.stderr.splitlines()
    start = f"warning: {key_line(project, 'synthetic.pages')} 20,001 pages of 64x64 take ~"
    assert len(lines) == 1 and lines[0].startswith(start), lines
    assert " MB in data/" in lines[0] and " h to draw with " in lines[0]

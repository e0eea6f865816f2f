"""Params mistakes stop a stage before any work, with one line naming the file, line and key."""
from __future__ import annotations

import difflib
import re
import sys

import pytest

import yaml

from conftest import ROOT, run, stage, write_params
from hwdetect.cli import UserError
from hwdetect.config import params as P
from hwdetect.config.registry import LAYOUTS


@pytest.mark.parametrize("overrides, expected", [
    ({"train": {"profile": "gpu"}}, "train.profile: unknown profile 'gpu'; choose one of: cpu, rtx3050, production"),
    ({"profiles": {"cpu": {"epoch": 3}}}, "profiles.cpu.epoch: unknown key; did you mean 'epochs'?"),
    ({"train": {"thread": 2}}, "train.thread: unknown key; did you mean 'threads'?"),
    ({"synthetic": {"pages": "many"}}, "synthetic.pages: expected int, got str 'many'"),
    ({"profiles": {"cpu": {"amp": "yes"}}}, "profiles.cpu.amp: expected bool, got str 'yes'"),
    ({"split": {"ratios": {"train": 0.7, "val": 0.1, "test": 0.1}}}, "split.ratios: ratios must sum to 1, they sum to 0.9"),
    ({"split": {"ratios": {"train": 0.8, "valid": 0.1, "test": 0.1}}}, "split.ratios: expected exactly the keys train, val, test"),
    ({"data": {"sources": ["synth"]}}, "data.sources: unknown source 'synth'; choose from: synthetic"),
    ({"synthetic": {"lines": [4, 2]}}, "synthetic.lines: expected [low, high]"),
    ({"seed": -1}, "seed: must be >= 0"),
    ({"custom": {"format": "xml"}}, "custom.format: expected one of auto, yolo, voc, coco, cvat, label-studio; got 'xml'"),
    ({"custom": {"classes": {"hw": "text"}}}, "custom.classes: expected a mapping of annotated class names to"),
    ({"iam": {"downscale": 2}}, "iam.downscale: expected a number in (0, 1]; got 2"),
    ({"train": {"cpu_isa": "avx512"}}, "train.cpu_isa: expected one of AVX2, native; got 'avx512'"),
    ({"iam": {"base_url": "fki.tic.heia-fr.ch"}}, "iam.base_url: expected an http(s) URL"),
    ({"synthetic": {"hands": ["comic-sans"]}}, "synthetic.hands: unknown name 'comic-sans'; choose from:"),
    ({"synthetic": {"layouts": dict.fromkeys(LAYOUTS, 0)}}, "synthetic.layouts: weights must be numbers >= 0, not all 0"),
    ({"profiles": {"rtx3050": {"batch": 0}}}, "profiles.rtx3050.batch: expected a number of images >= 1, -1 (auto-batch) or a fraction of GPU memory in (0, 1); got 0"),
    ({"profiles": {"rtx3050": {"batch": 1.5}}}, "profiles.rtx3050.batch: expected a number of images >= 1, -1"),
    ({"profiles": {"rtx3050": {"batch": -1}}}, "profiles.rtx3050.accumulate: must be 1 with batch -1 (auto-batch)"),
    ({"profiles": {"rtx3050": {"sha256": "f59b3d83"}}}, "profiles.rtx3050.sha256: expected the 64 lowercase hex digits of a sha256"),
    ({"profiles": {"cpu": {"model": "yolov8n"}}}, "profiles.cpu.model: expected an architecture (*.yaml, e.g. yolov8n.yaml) or pretrained weights (*.pt)"),
    ({"profiles": {"cpu": {"model": "mine.pt"}}}, "profiles.cpu.sha256: missing; pretrained weights are pinned by their sha256 (sha256sum prints it)"),
    ({"profiles": {"rtx3050": {"optimizer": "adam-w"}}}, "profiles.rtx3050.optimizer: expected one of auto, SGD, MuSGD, Adam, Adamax, AdamW"),
    ({"profiles": {"rtx3050": {"patience": 0}}}, "profiles.rtx3050.patience: must be >= 1"),
    ({"train": {"weights_url": "github.com/ultralytics"}}, "train.weights_url: expected an http(s) URL"),
    ({"profiles": {"production": {"device": [0, 1], "batch": 3}}}, "profiles.production.batch: 3 does not split over the 2 GPUs of device [0, 1]: on several GPUs the batch is split evenly (no auto-batch); use a multiple of 2"),
    ({"profiles": {"production": {"device": "0,1", "batch": -1, "accumulate": 1}}}, "profiles.production.batch: -1 does not split over the 2 GPUs of device '0,1'"),
    ({"profiles": {"production": {"device": "gpu"}}}, "profiles.production.device: expected cpu, a CUDA device index such as 0, or several GPUs such as [0, 1]; got 'gpu'"),
    ({"profiles": {"production": {"device": [0, 0]}}}, "profiles.production.device: expected cpu, a CUDA device index"),
])
def test_bad_value_is_one_line_naming_key_and_line(project, overrides, expected):
    write_params(project, overrides)
    with pytest.raises(UserError) as err:
        P.load(project / "params.yaml")
    message = str(err.value)
    assert expected in message
    assert message.startswith("params.yaml:") and message.split(":")[1].isdigit()
    assert "\n" not in message


def test_missing_section_and_bad_yaml(project):
    text = (project / "params.yaml").read_text()
    (project / "params.yaml").write_text(text.replace("evaluate:", "evaluation:"))
    with pytest.raises(UserError, match="unknown key; did you mean 'evaluate'"):
        P.load(project / "params.yaml")
    (project / "params.yaml").write_text("seed: [1\n")
    with pytest.raises(UserError, match=r"params.yaml:\d+: not valid YAML"):
        P.load(project / "params.yaml")


def test_profile_needs_required_keys(project):
    params = P.load(project / "params.yaml")
    del params["profiles"]["production"]["imgsz"]
    import yaml
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(UserError, match="profiles.production: missing imgsz"):
        P.load(project / "params.yaml")


def test_pretrained_weights_without_their_pin_name_the_known_hash(project):
    params = P.load(project / "params.yaml")
    del params["profiles"]["production"]["sha256"]
    import yaml
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(UserError, match="profiles.production.sha256: missing; pretrained weights are pinned by "
                                        "their sha256 .for Ultralytics' yolov8n.pt it is f59b3d833e2ff32e"):
        P.load(project / "params.yaml")


def test_auto_batch_and_memory_fractions_are_valid_params(project):
    write_params(project, {"profiles": {"rtx3050": {"batch": -1, "accumulate": 1}, "production": {"batch": 0.7,
                                                                                                  "accumulate": 1}}})
    params = P.load(project / "params.yaml")
    assert params["profiles"]["rtx3050"]["batch"] == -1 and params["profiles"]["production"]["batch"] == 0.7


def test_several_gpus_are_valid_params_when_the_batch_splits_evenly(project):
    write_params(project, {"profiles": {"production": {"device": [0, 1], "batch": 8},
                                        "rtx3050": {"device": "0,1,2,3", "batch": 8}}})
    params = P.load(project / "params.yaml")
    assert params["profiles"]["production"]["device"] == [0, 1]


def test_learning_rate_that_ultralytics_would_ignore_is_refused(project):
    write_params(project, {"profiles": {"cpu": {"lr0": 0.01}}})
    result = run([sys.executable, "-m", "hwdetect.config.params"], project, check=False)
    assert result.returncode == 2
    assert re.fullmatch(r"error: params.yaml:\d+: profiles.cpu.lr0: ignored: with optimizer auto \(the default\) "
                        r"Ultralytics picks its own; set profiles.cpu.optimizer: AdamW \(or SGD\) to use it, or "
                        r"remove lr0", result.stderr.strip())
    write_params(project, {"profiles": {"cpu": {"optimizer": "AdamW"}}})
    assert run([sys.executable, "-m", "hwdetect.config.params"], project).stderr == ""
    # The shipped GPU profiles pin AdamW, so their lr0 is used.
    assert P.load(project / "params.yaml")["profiles"]["rtx3050"]["optimizer"] == "AdamW"


def test_stage_exits_nonzero_with_one_line_and_writes_nothing(project):
    write_params(project, {"train": {"profile": "laptop"}})
    result = stage(project, "synthetic", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: params.yaml:") and "choose one of: cpu, rtx3050, production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "data" / "sources" / "synthetic").exists()


# What the training guide prescribes for each hardware profile: (profile, key, value).
GUIDE = [
    ("cpu", "device", "cpu"), ("cpu", "model", "yolov8n.yaml"),  # no GPU and no download on a fresh machine
    ("rtx3050", "model", "yolov8n.pt"), ("rtx3050", "epochs", 50), ("rtx3050", "imgsz", 512), ("rtx3050", "batch", 2),
    ("rtx3050", "accumulate", 8), ("rtx3050", "amp", True), ("rtx3050", "device", 0),
    ("production", "model", "yolov8n.pt"), ("production", "epochs", 100), ("production", "imgsz", 640),
    ("production", "batch", 4), ("production", "accumulate", 4), ("production", "amp", True),
]


def test_default_params_are_valid_and_cpu_is_the_default():
    assert P.load()["train"]["profile"] == "cpu"


@pytest.mark.parametrize("profile, key, value", GUIDE)
def test_profiles_follow_the_training_guide(profile, key, value):
    assert P.load()["profiles"][profile][key] == value


def _leaves(tree: dict, path: tuple[str, ...] = ()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, path + (key,))
        else:
            yield path + (key,), value


def _changed(value):
    """Another value of the same type (lists: another first item and one item more)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1 if isinstance(value, int) else value / 2
    if isinstance(value, str):
        return value + "x"
    return [_changed(value[0]), *value[1:], value[-1]]


def _hydra(value) -> str:
    """A value as `dvc exp run -S key=value` writes it (Hydra's override grammar)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ",".join(_hydra(x) for x in value) + "]"
    return repr(value)


def _set(tree: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


PARAMS_TEXT = (ROOT / "params.yaml").read_text()
LEAVES = list(_leaves(yaml.safe_load(PARAMS_TEXT)))


@pytest.mark.parametrize("path, value", LEAVES, ids=[".".join(p) for p, _ in LEAVES])
def test_dvc_exp_run_set_changes_that_value_and_nothing_else(tmp_path, path, value):
    """`dvc exp run -S key=value` rewrites params.yaml through apply_overrides (ruamel round trip): only that
    value's line changes (a list: only its item lines), every comment and every other line stays."""
    from dvc.utils.hydra import apply_overrides

    file = tmp_path / "params.yaml"
    file.write_text(PARAMS_TEXT)
    new = _changed(value)
    apply_overrides(file, [f"{'.'.join(path)}={_hydra(new)}"])
    after = file.read_text()
    expected = yaml.safe_load(PARAMS_TEXT)
    _set(expected, path, new)
    assert yaml.safe_load(after) == expected
    before_lines, after_lines = PARAMS_TEXT.splitlines(), after.splitlines()
    changed = [op for op in difflib.SequenceMatcher(None, before_lines, after_lines).get_opcodes() if op[0] != "equal"]
    if isinstance(value, list):
        key_line = before_lines.index(next(line for line in before_lines
                                           if line.startswith(f"{'  ' * (len(path) - 1)}{path[-1]}:")))
        first = next(i for i in range(key_line + 1, len(before_lines)) if before_lines[i].lstrip().startswith("- "))
        items = range(first, first + len(value))
        assert all(i1 in items or i1 == items.stop and i2 == i1 for _, i1, i2, _, _ in changed), changed
        assert all(after_lines[j].lstrip().startswith("- ") for *_, j1, j2 in changed for j in range(j1, j2))
    else:
        assert [op[0] for op in changed] == ["replace"] and changed[0][2] - changed[0][1] == 1, changed
        assert changed[0][4] - changed[0][3] == 1, changed

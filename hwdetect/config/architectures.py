"""A profile's `model` must be a YOLO box detector: an architecture YAML Ultralytics resolves, or weights of one.

Ultralytics builds whatever its name resolves to: `yolov8n-cls.yaml` is a classifier, and training it on the split
dies only after DVC removed the previous model. The YAML is found the way Ultralytics finds it (a file in the
project, else its cfg/models by name, `yolov8n.yaml` standing for `yolov8.yaml` at scale n) and its last head layer
read without importing Ultralytics. Weights (*.pt) are checked by name here and by their content once the preflight
stage has them (`checkpoint_problem`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from hwdetect.config.upstream import _package_file
from hwdetect.paths import ROOT, shown

DETECT_HEADS = ("Detect", "v10Detect")  # the heads Ultralytics' YOLO trains with task=detect on boxes alone
FIX = "use a detection architecture such as yolov8n.yaml, or pinned detection weights such as yolov8n.pt"
OTHER_TASKS = {"-cls": "an image classifier", "-seg": "a segmentation model", "-sem": "a segmentation model",
               "-pose": "a pose model", "-obb": "an oriented-box model", "-world": "an open-vocabulary model",
               "-worldv2": "an open-vocabulary model", "-depth": "a depth model"}
HEAD_KINDS = {"classify": "an image classifier", "semanticsegment": "a segmentation model",
              "segment": "a segmentation model", "pose": "a pose model", "obb": "an oriented-box model",
              "worlddetect": "an open-vocabulary model that needs text prompts",
              "yoloedetect": "an open-vocabulary model that needs text prompts",
              "rtdetrdecoder": "an RT-DETR transformer",
              "depth": "a depth model"}
SCALED = re.compile(r"(\d+)([nslmx])(.+)?$")  # yolov8n-p2 → yolov8-p2 at scale n, as Ultralytics reads it


def _kind_of_head(module: str) -> str:
    low = module.lower()
    return next((kind for key, kind in HEAD_KINDS.items() if key in low), f"a model whose last layer is {module}")


def _task_in_name(model: str) -> str | None:
    stem = Path(model).stem.lower()
    return next((kind for suffix, kind in OTHER_TASKS.items() if re.search(rf"{suffix}(\b|[-_]|$)", stem)), None)


@lru_cache
def _ultralytics_models() -> dict[str, Path]:
    """Ultralytics' model YAMLs by file name."""
    return {p.name: p for p in sorted(_package_file("ultralytics", "cfg", "models").rglob("*.yaml"))}


def head_problem(head: str, model: str) -> str | None:
    if head in DETECT_HEADS:
        return None
    return f"{model} is {_kind_of_head(head)}, not a box detector (its last layer is {head}); {FIX}"


def architecture_problem(model: str) -> str | None:
    """Why a profile's `model: *.yaml` cannot train this detector (None: it resolves to a YOLO detection head)."""
    path = Path(model)
    own = path if path.is_absolute() else ROOT / path
    scale = SCALED.search(path.stem)
    if own.is_file():
        file = own
    else:
        found = _ultralytics_models()
        file = found.get(path.name) or found.get(SCALED.sub(r"\1\3", path.stem) + path.suffix)
        if file is None or len(path.parts) > 1:
            kind = _task_in_name(model)
            what = f"names {kind}, not a box detector" if kind else \
                "is neither a file in the project nor an architecture Ultralytics knows"
            return f"{model} {what}; {FIX}"
    try:
        config = yaml.safe_load(file.read_text(encoding="utf-8"))
        head = str(config["head"][-1][-2])
    except (OSError, UnicodeError, yaml.YAMLError, KeyError, IndexError, TypeError) as err:
        return f"{model}: not an Ultralytics model YAML ({type(err).__name__}: {err}); {FIX}"
    if problem := head_problem(head, model):
        return problem
    scales = config.get("scales") or {}
    if scale and file.name != path.name and scales and scale.group(2) not in scales:
        return f"{model}: {file.name} has no scale {scale.group(2)!r} (it has {', '.join(scales)}); {FIX}"
    return None


def weights_name_problem(model: str) -> str | None:
    """Why a profile's `model: *.pt` names no detector, judged by the name alone (Ultralytics' -cls, -seg ...)."""
    kind = _task_in_name(model)
    return f"{model} names {kind}, not a box detector; {FIX}" if kind else None


def checkpoint_problem(path: Path, model: str) -> str | None:
    """Why a weights file is no YOLO box detector, read from the checkpoint itself (imports Ultralytics)."""
    from ultralytics.nn.tasks import torch_safe_load

    try:
        checkpoint = torch_safe_load(str(path))[0]
        network = checkpoint.get("ema") or checkpoint["model"]
        head = str(network.yaml["head"][-1][-2])
    except Exception as err:  # any unpickling error: the file is no Ultralytics checkpoint
        return f"{model}: {shown(path)} is not an Ultralytics checkpoint ({type(err).__name__}); {FIX}"
    return head_problem(head, model)

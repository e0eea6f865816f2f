"""Loading a model file the user names, refused in one line unless it is an Ultralytics detector of the expected
classes (their number; for predict and pre-annotation also the class name `handwriting`): a .pt checkpoint (not a
classifier or segmenter, not a plain tensor, not truncated) or an .onnx export (with Ultralytics' metadata, one image
input and the detector's output of 4 box values plus one score per class).
"""
from __future__ import annotations

import ast
from pathlib import Path

from hwdetect.cli import UserError
from hwdetect.paths import shown

SUFFIXES = (".pt", ".onnx")
FIX = "give a detector this pipeline trained (`dvc repro` builds models/detector/best.pt and best.onnx)"


def refuse(where: str, problem: str) -> UserError:
    return UserError(f"{where}: {problem}; {FIX}")


def check_file(path: Path, flag: str) -> str:
    """`flag path` as messages name it, once the path is an existing .pt or .onnx (checked before the inputs)."""
    where = f"{flag} {shown(path)}".strip()
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"{where}: expected a .pt or .onnx file")
    if not path.exists():
        raise UserError(f"{where}: not found; run `dvc repro` to build models/detector/best.pt and best.onnx, or "
                        f"pass the path of one")
    return where


def first_line(err: BaseException) -> str:
    text = str(err).strip().replace("ERROR ❌️", "").strip().split("\n")[0][:160]
    return text or type(err).__name__


def onnx_problem(path: Path, classes: int | None, name: str | None) -> str | None:
    """Why an .onnx file is not an Ultralytics detector (None when it is one)."""
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(graph)
    except Exception as err:  # noqa: BLE001 (protobuf and the checker raise their own types for a broken file)
        return f"not a readable ONNX model ({first_line(err)})"
    meta = {p.key: p.value for p in graph.metadata_props}
    if "names" not in meta or "task" not in meta:
        return "has no Ultralytics metadata (task, names, imgsz), so Ultralytics did not export it"
    if meta["task"] != "detect":
        return f"is a {meta['task']} model, not a detector"
    try:
        names = ast.literal_eval(meta["names"])
    except (ValueError, SyntaxError):
        return f"its metadata names the classes unreadably ({meta['names'][:60]!r})"
    inputs = [[d.dim_value or None for d in i.type.tensor_type.shape.dim] for i in graph.graph.input]
    outputs = [[d.dim_value or None for d in o.type.tensor_type.shape.dim] for o in graph.graph.output]
    if len(inputs) != 1 or len(inputs[0]) != 4 or inputs[0][1] not in (3, None):
        return f"expected one image input of shape (batch, 3, height, width), found {inputs}"
    if not outputs or len(outputs[0]) != 3 or outputs[0][1] not in (4 + len(names), None):
        return f"expected a detector's output (batch, {4 + len(names)}, boxes), found {outputs[0] if outputs else None}"
    return class_problem(names, classes, name)


def class_problem(names: dict | list, classes: int | None, name: str | None) -> str | None:
    """Why a model of these class names is not the expected detector (None when it is)."""
    if classes is not None and len(names) != classes:
        return f"detects {len(names)} classes, expected {classes}"
    found = list(names.values()) if isinstance(names, dict) else list(names)
    if name is not None and name not in found:
        return f"its classes are {', '.join(map(str, found)) or 'none'}, none of them {name}"
    return None


def load_detector(path: Path, flag: str = "--model", classes: int | None = 1, name: str | None = None):
    """The Ultralytics YOLO model of `path`, or UserError naming the file and what is wrong with it.
    classes: how many classes the model must detect (None: any number); name: a class it must detect (None: any)."""
    from ultralytics import YOLO

    where = check_file(path, flag)
    if path.is_dir():
        raise refuse(where, "is a folder, not a model file")
    if path.stat().st_size == 0:
        raise refuse(where, "the file is empty (cut short while it was written?)")
    if path.suffix.lower() == ".onnx":
        if problem := onnx_problem(path, classes, name):
            raise refuse(where, problem)
        return YOLO(str(path), task="detect")
    try:
        model = YOLO(str(path), task="detect")
    except Exception as err:  # noqa: BLE001 (torch, pickle and Ultralytics each raise their own types)
        raise refuse(where, f"cannot load the model ({first_line(err).replace(str(path), 'the file')})") from None
    if model.task != "detect" or type(model.model).__name__ != "DetectionModel":
        raise refuse(where, f"is a {model.task} model ({type(model.model).__name__}), not a detector")
    if problem := class_problem(model.names, classes, name):
        raise refuse(where, problem)
    return model

"""What the installed Ultralytics and torch accept, read from their source files without importing them (importing
Ultralytics takes seconds, and every stage checks params.yaml first).

Ultralytics checks a train argument's type and range only when training starts (`check_cfg` in ultralytics/cfg), so
a typo in a profile would stop the train stage after the data stages ran; `ultralytics_problem` applies the same
rules, from the same key lists, while params.yaml is checked.
"""
from __future__ import annotations

import ast
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hwdetect.cli import UserError

# Ultralytics' ONNX export needs opset 9 for a detection model (nearest Upsample) and calls torch's TorchScript
# exporter (dynamo=False), whose highest opset torch names ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET.
MIN_OPSET = 9
FALLBACK_MAX_OPSET = 20  # torch 2.14's value, used where torch's constants file cannot be read


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the {package} package is not installed; run `make repro` or "
                        f"`pip install -r requirements.txt`")
    return Path(spec.submodule_search_locations[0]).joinpath(*parts)


def _constants(file: Path) -> dict[str, Any]:
    """Module-level constants of a Python file whose values are literals (frozenset({...}) included)."""
    found: dict[str, Any] = {}
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if not (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in ("frozenset", "set") and value.args:
            value = value.args[0]
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        found.update({t.id: literal for t in targets if isinstance(t, ast.Name)})
    return found


@lru_cache
def ultralytics_keys() -> frozenset[str]:
    """Train arguments Ultralytics accepts, from its default.yaml."""
    return frozenset(yaml.safe_load(_package_file("ultralytics", "cfg", "default.yaml").read_text(encoding="utf-8")))


@lru_cache
def _rules() -> dict[str, Any]:
    names = ("CFG_FLOAT_KEYS", "CFG_FRACTION_KEYS", "CFG_INT_KEYS", "CFG_BOOL_KEYS", "CFG_STR_KEYS", "CFG_INT_MIN")
    found = _constants(_package_file("ultralytics", "cfg", "__init__.py"))
    return {name: found.get(name, set() if name != "CFG_INT_MIN" else {}) for name in names}


@lru_cache
def opset_range() -> tuple[int, int]:
    """The ONNX opsets an Ultralytics export of YOLOv8 works with under the installed torch."""
    try:
        found = _constants(_package_file("torch", "onnx", "_constants.py"))
    except (OSError, SyntaxError, UserError):
        found = {}
    return MIN_OPSET, int(found.get("ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", FALLBACK_MAX_OPSET))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fraction_problem(key: str, v: Any) -> str | None:
    if key == "fraction" and isinstance(v, list):
        ok = len(v) in (2, 3) and all(v[:2]) and all(
            type(x) is int and x >= 0 or type(x) is float and 0 <= x <= 1 for x in v)
        return None if ok else f"expected [train, val] or [train, val, test] counts or ratios; got {v!r}"
    if not _number(v):
        return f"expected a number in [0, 1]; got {type(v).__name__} {v!r}"
    if key == "fraction":
        ok = 0 < v <= 1 or isinstance(v, int) and v > 1
        return None if ok else f"expected a ratio in (0, 1] or a count of images > 1; got {v!r}"
    return None if 0 <= v <= 1 else f"expected a number in [0, 1]; got {v!r}"


def ultralytics_problem(key: str, v: Any) -> str | None:
    """What Ultralytics' check_cfg would raise for a train argument (None: it accepts it)."""
    rules = _rules()
    if v is None:
        return "must not be null; remove the key to use Ultralytics' default"
    if key in rules["CFG_FLOAT_KEYS"] and not _number(v):
        return f"expected an int or float; got {type(v).__name__} {v!r}"
    if key in rules["CFG_FRACTION_KEYS"]:
        return _fraction_problem(key, v)
    if key in rules["CFG_INT_KEYS"]:
        if not (isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()):
            return f"expected an int; got {type(v).__name__} {v!r}"
        low = rules["CFG_INT_MIN"].get(key)
        return f"must be >= {low}, got {v!r}; use {low} or more" if low is not None and v < low else None
    if key in rules["CFG_BOOL_KEYS"] and not isinstance(v, bool):
        return f"expected true or false; got {type(v).__name__} {v!r}"
    if key in rules["CFG_STR_KEYS"] and not isinstance(v, str):
        return f"expected a string; got {type(v).__name__} {v!r}"
    if key == "compile" and not isinstance(v, (bool, str)):
        return f"expected true, false or a torch.compile mode; got {v!r}"
    pair = isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v)
    if key == "scale" and not (pair or _number(v) and 0 <= v <= 1):
        return f"expected a number in [0, 1] or a [low, high] pair; got {v!r}"
    return None

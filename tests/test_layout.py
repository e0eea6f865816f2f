"""The code's layout keeps its promises: stages are thin entry points that never import each other, every module a
stage imports is one of its DVC deps, library code never reads params.yaml, and dvc.yaml's outputs are the paths
defined in hwdetect/paths.py."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from hwdetect import paths
from hwdetect.config.registry import SOURCES

DVC_FILES = ("dvc.yaml", "iam/dvc.yaml", "custom/dvc.yaml")
PACKAGES = ("hwdetect", "stages")
MAX_STAGE_LINES = 80


def dvc_stages() -> dict[str, dict]:
    """Every stage of the project's dvc.yaml files by name, with `foreach` stages taken once."""
    found = {}
    for name in DVC_FILES:
        for stage, spec in yaml.safe_load((ROOT / name).read_text())["stages"].items():
            found[stage] = spec.get("do", spec)
    return found


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(file: Path) -> set[str]:
    """Project modules a file imports anywhere in it (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names if module_file(f"{node.module}.{a.name}")}
    return {n for n in names if n.split(".")[0] in PACKAGES}


def closure(module: str) -> set[Path]:
    """The project files loaded when `module` runs: its imports, theirs, and every package __init__.py on the way."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            file = module_file(".".join(parts[:i]))
            if file and file not in seen:
                seen.add(file)
                todo += imported_modules(file)
    return seen


def entry_module(spec: dict) -> str:
    match = re.fullmatch(r"python -m (stages\.\w+)( .*)?", spec["cmd"])
    assert match, f"stage command {spec['cmd']!r} is not `python -m stages.<name>`"
    return match.group(1)


STAGES = dvc_stages()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_module_a_stage_imports_is_in_its_deps(stage):
    deps = [ROOT / d for d in STAGES[stage]["deps"] if "${" not in d]
    missing = [f.relative_to(ROOT).as_posix() for f in sorted(closure(entry_module(STAGES[stage])))
               if not any(f == d or f.is_relative_to(d) for d in deps)]
    assert not missing, f"stage {stage}: add these to its deps in dvc.yaml, or an edit will not re-run it: {missing}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stages_are_thin_and_never_import_another_stage(stage):
    me = entry_module(STAGES[stage])
    others = [f for f in closure(me) if f.parent == ROOT / "stages" and f.stem not in ("__init__", me.split(".")[1])]
    assert not others, f"{me} imports other stages: {others}; move what they share into hwdetect/"
    lines = len(module_file(me).read_text().splitlines())
    assert lines <= MAX_STAGE_LINES, f"{me} has {lines} lines; move the work into hwdetect/"


def test_stages_folder_holds_only_dvc_entry_points():
    entries = {entry_module(spec) for spec in STAGES.values()}
    modules = {f"stages.{f.stem}" for f in (ROOT / "stages").glob("*.py") if f.stem != "__init__"}
    assert modules == entries


PARAMS_COMMANDS = {ROOT / "hwdetect" / "doctor.py"}  # commands beside the stages that read params.yaml themselves


def test_library_code_never_reads_params_yaml():
    readers = [f.relative_to(ROOT).as_posix() for f in sorted((ROOT / "hwdetect").rglob("*.py"))
               if not f.is_relative_to(ROOT / "hwdetect" / "config") and f != ROOT / "hwdetect" / "paths.py"
               and f not in PARAMS_COMMANDS
               and ("hwdetect.config.params" in imported_modules(f) or re.search(r"\bPARAMS\b", f.read_text()))]
    assert not readers, f"library modules that load params.yaml themselves (let the stage pass values): {readers}"


def known_paths() -> set[str]:
    """Every output path hwdetect/paths.py defines, relative to the project root."""
    found = {v for v in vars(paths).values() if isinstance(v, Path)}
    found |= {f(name) for name in SOURCES for f in (paths.source_dir, paths.source_index)}
    found |= {paths.metrics_file(stage) for stage in ("train", "eval", "export", "iam", "verifier")}
    return {p.relative_to(ROOT).as_posix() for p in found if p.is_relative_to(ROOT)}


@pytest.mark.parametrize("dvc_file", DVC_FILES)
def test_dvc_outputs_are_the_paths_the_code_writes(dvc_file):
    known = known_paths()
    for stage, spec in yaml.safe_load((ROOT / dvc_file).read_text())["stages"].items():
        spec = spec.get("do", spec)
        for out in [*spec.get("outs", []), *spec.get("metrics", [])]:
            out = next(iter(out)) if isinstance(out, dict) else out
            for name in SOURCES if "${item}" in out else [None]:
                path = out.replace("${item}", name) if name else out
                assert path in known, f"{dvc_file}: stage {stage} writes {path}, which hwdetect/paths.py does not define"


BENCHES = sorted(f"bench.{f.stem}" for f in (ROOT / "bench").glob("*.py") if f.stem != "__init__")
COMMANDS = [*BENCHES, "hwdetect.predict", "hwdetect.preannotate", "hwdetect.doctor", "hwdetect.push", "hwdetect.config.params", *sorted({entry_module(s) for s in STAGES.values()})]


@pytest.mark.parametrize("module", COMMANDS)
def test_every_command_imports_and_answers_help(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:")

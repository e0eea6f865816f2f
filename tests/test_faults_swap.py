"""Outputs survive a kill at every instant, and no command replaces a folder it did not write.

Faults (kind: faults): `kill -9` at each file-system step of a stage replacing its output (tests/kill_at.py) leaves
the old or the new output whole, and the next start recovers; outputs that are project folders, lie in an input, or
were written by someone else are refused with one line and left byte-identical.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, make_split, run, stage, write_params
from faults import refused, snapshot

KILL_AT = str(ROOT / "tests" / "kill_at.py")
SWAPS = {  # command -> the output it replaces
    "split": (["stages.split"], "data/split"),
    "source": (["stages.source", "synthetic"], "data/selected/synthetic.csv"),
}


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict:
    """A project split with seed 0 (the old outputs), and the outputs a seed-1 run gives (the new ones)."""
    from conftest import copy_project

    project = copy_project(tmp_path_factory.mktemp("swap") / "project")
    make_split(project)
    old = {name: snapshot(project / out) for name, (_, out) in SWAPS.items()}
    backup = tmp_path_factory.mktemp("backup")
    shutil.copytree(project / "data", backup / "data", symlinks=True)
    write_params(project, {"seed": 1})
    (project / "data/sources/synthetic/groups.csv").write_text(  # a new index too: one page fewer
        "\n".join((project / "data/sources/synthetic/groups.csv").read_text().splitlines()[:-1]) + "\n")
    stage(project, "source", "synthetic")
    stage(project, "split")
    new = {name: snapshot(project / out) for name, (_, out) in SWAPS.items()}
    inputs = {f: (project / f).read_bytes() for f in ("data/sources/synthetic/groups.csv", "data/selected/synthetic.csv")}
    return {"project": project, "backup": backup, "old": old, "new": new, "inputs": inputs}


def restore(versions: dict, out: str) -> None:
    """The old outputs in place, and the new inputs of the command that writes `out`."""
    project = versions["project"]
    shutil.rmtree(project / "data")
    shutil.copytree(versions["backup"] / "data", project / "data", symlinks=True)
    for name, data in versions["inputs"].items():
        if name != out:
            (project / name).write_bytes(data)


def steps(cmd: list[str], project: Path) -> int:
    result = run([sys.executable, KILL_AT, "0", *cmd], project)
    return int(result.stderr.strip().splitlines()[-1].removeprefix("steps: "))


@pytest.mark.parametrize("name", sorted(SWAPS))
def test_a_kill_at_every_step_of_the_swap_leaves_the_old_or_the_new_output_whole(versions, name):
    project = versions["project"]
    cmd, out = SWAPS[name]
    restore(versions, out)
    total = steps(cmd, project)
    assert total >= 1, f"{name}: expected at least the rename that puts the output in place, counted {total}"
    seen = set()
    for k in range(1, total + 1):
        restore(versions, out)
        killed = run([sys.executable, KILL_AT, str(k), *cmd], project, check=False)
        assert killed.returncode == -9, f"step {k}: {killed.stderr[-2000:]}"
        if not Path(out).suffix:  # a folder: what the next start does first (a file needs nothing: rename is atomic)
            run([sys.executable, "-c", f"from hwdetect.files.atomic import recover; from pathlib import Path; "
                                       f"recover(Path({str(project / out)!r}), {cmd[0]!r})"], project)
        state = snapshot(project / out)
        matches = [v for v in ("old", "new") if state == versions[v][name]]
        assert matches, f"{name}: a kill at step {k}/{total} left {out} neither old nor new"
        seen.add(matches[0])
        stage(project, *cmd[0].split(".")[1:], *cmd[1:])  # the next run completes the change and tidies up
        assert snapshot(project / out) == versions["new"][name]
        leftovers = [p.name for p in (project / out).parent.iterdir() if p.name.startswith(f".{Path(out).name}.")]
        assert not leftovers, f"step {k}: the next run left {leftovers}"
    # A folder is new once the new version is renamed in (old deleted after); a file is new only after its rename.
    assert seen == ({"old"} if Path(out).suffix else {"old", "new"}), f"{name}: the kill points gave {seen}"

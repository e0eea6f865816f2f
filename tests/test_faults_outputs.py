"""No command replaces a folder it did not write (kind: faults).

An output folder is replaced only when it is the same command's earlier output (its .hwdetect-output marker), and
never when it is a project folder, holds the input or lies inside it. Each case: one line naming the folder, exit 2,
every file as it was.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import copy_project, make_split, run
from faults import refused

PREDICT = ["hwdetect.predict", "--model", "fake.pt", "--source", "data/split/images/test"]
PREANNOTATE = ["hwdetect.preannotate", "--model", "fake.pt", "--source", "data/split/images/test"]
EVALUATE = ["stages.evaluate", "--model", "fake.pt", "--data", "data/split/dataset.yaml"]


@pytest.fixture(scope="module")
def split_project(tmp_path_factory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("outputs") / "project")
    make_split(project)
    (project / "fake.pt").write_bytes(b"not reached: the output is checked first")
    (project / "notes").mkdir()
    (project / "notes" / "todo.txt").write_text("my own file\n")
    (project / "a-file.txt").write_text("a file, not a folder\n")
    os.symlink(project / "notes", project / "link-to-notes")
    return project


PROJECT_FOLDERS = [".", "data", "reports", "models", "data/sources", "..", "/"]
CASES = [
    *[(PREDICT, out, "is a folder of the project") for out in PROJECT_FOLDERS],
    *[(EVALUATE, out, "is a folder of the project") for out in (".", "reports", "data", "models", "metrics")],
    (PREANNOTATE, "data", "is a folder of the project"),
    (PREANNOTATE, "runs", "is a folder of the project"),
    (PREDICT, "data/split/images/test/out", "inside the input"),
    (PREDICT, "data/split/images", "inside the input"),
    (PREDICT, "data/split/images/test", "inside the input"),
    (PREANNOTATE, "data/split/images/test/pre", "inside the input"),
    (EVALUATE, "data/split/report", "inside the input"),
    (EVALUATE, "data/split", "inside the input"),
    (PREDICT, "notes", "was not written by hwdetect.predict"),
    (EVALUATE, "notes", "was not written by stages.evaluate"),
    (PREANNOTATE, "notes", "was not written by hwdetect.preannotate"),
    (PREDICT, "a-file.txt", "is not a folder"),
    (EVALUATE, "a-file.txt", "is not a folder"),
    (PREDICT, "link-to-notes", "is not a folder"),
]


@pytest.mark.parametrize("cmd,out,why", CASES, ids=[f"{c[0]}-{o}" for c, o, _ in CASES])
def test_an_output_that_is_not_the_commands_own_is_refused(split_project, cmd, out, why):
    line = refused([*cmd, "--out", out], split_project, why)
    assert out.rstrip("/").split("/")[-1] in line or out in (".", "..", "/")


def test_an_output_written_by_another_command_is_refused(split_project):
    theirs = split_project / "runs" / "theirs"
    theirs.mkdir(parents=True, exist_ok=True)
    (theirs / ".hwdetect-output").write_text("written by hwdetect.preannotate\n")
    (theirs / "preannotations.csv").write_text("file\n")
    refused([*PREDICT, "--out", "runs/theirs"], split_project, "runs/theirs", "was written by hwdetect.preannotate")


def test_a_stage_does_not_replace_a_folder_it_did_not_write(split_project, tmp_path):
    project = copy_project(tmp_path / "project")
    make_split(project)
    (project / "data/split/.hwdetect-output").unlink()  # e.g. a folder the user put there by hand
    refused(["stages.split"], project, "data/split", "was not written by stages.split")


def test_a_foreign_leftover_beside_an_output_is_refused(split_project):
    leftover = split_project / "runs" / ".mine.old"
    leftover.mkdir(parents=True, exist_ok=True)
    (leftover / "keep.txt").write_text("not the command's\n")
    refused([*PREDICT, "--out", "runs/mine"], split_project, "runs/.mine.old", "not written by hwdetect.predict")

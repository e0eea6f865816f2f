"""The real dev set: its manifest and labels are well-formed, and bench.realset rebuilds pages from a local mirror
(no network) exactly as the manifest pins them, refusing a source whose sha256 differs."""
from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.realset import BOX_KINDS, COLUMNS, MANIFEST, black_and_white, checked_kinds, labels_of, read_manifest
from conftest import run
from faults import refused
from hwdetect.files.yolo_labels import read_boxes

HEX64 = re.compile(r"[0-9a-f]{64}")


def test_manifest_is_well_formed():
    rows = read_manifest(MANIFEST)
    with MANIFEST.open(newline="", encoding="utf-8") as f:
        assert tuple(csv.reader(f).__next__()) == COLUMNS
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)), "page names must be unique"
    kinds = [r["kind"].split("/")[0] for r in rows]
    assert kinds.count("print-only") >= 15 and kinds.count("handwriting-in-print") >= 15
    for row in rows:
        assert HEX64.fullmatch(row["sha256"]), row["name"]
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), row["name"]
        assert row["repo"].count("/") == 1 and row["path"] and row["licence"], row["name"]
        assert row["redistributable"] in ("yes", "no"), row["name"]
        label = labels_of(MANIFEST) / f"{row['name']}.txt"
        assert label.is_file(), f"no label file for {row['name']}"
        boxes = read_boxes(label)
        for x0, y0, x1, y1 in boxes:
            assert -1e-6 <= x0 < x1 <= 1 + 1e-6 and -1e-6 <= y0 < y1 <= 1 + 1e-6, f"{row['name']}: box off the page"
        if row["kind"].startswith("print-only"):
            assert not boxes, f"{row['name']} is print-only but has boxes"
        else:
            assert boxes, f"{row['name']} has handwriting but no boxes"
    assert sorted(p.stem for p in labels_of(MANIFEST).glob("*.txt")) == sorted(names), "a label without a page"
    kinds = checked_kinds(MANIFEST, rows)  # a kind for every box, in label order
    assert kinds is not None and {k for page in kinds.values() for k in page} == set(BOX_KINDS)


def make_mirror(root: Path) -> tuple[Path, str, dict[str, bytes]]:
    """A bare git mirror `example+pages` holding a wide scan (PNG) and a two-page PDF; returns it and its commit."""
    work = root / "work"
    work.mkdir()
    Image.new("L", (2400, 1000), 255).save(work / "wide.png")
    pages = [Image.new("RGB", (850, 1100), "white"), Image.new("RGB", (850, 1100), (250, 250, 240))]
    pages[0].save(work / "two.pdf", save_all=True, append_images=pages[1:], resolution=100)
    run(["git", "init", "-q"], work)
    run(["git", "add", "."], work)
    run(["git", "commit", "-qm", "pages"], work)
    commit = run(["git", "rev-parse", "HEAD"], work).stdout.strip()
    mirror = root / "mirror"
    mirror.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror / "example+pages")], check=True)
    return mirror, commit, {name: (work / name).read_bytes() for name in ("wide.png", "two.pdf")}


def write_set(folder: Path, commit: str, files: dict[str, bytes], wrong_sha: bool = False) -> Path:
    rows = [{"name": "wide-scan", "path": "wide.png", "page": "", "kind": "print-only/report"},
            {"name": "form-p2", "path": "two.pdf", "page": "2", "kind": "handwriting-in-print/form-filled"}]
    (folder / "labels").mkdir(parents=True)
    (folder / "labels" / "wide-scan.txt").write_text("")
    (folder / "labels" / "form-p2.txt").write_text("0 0.5 0.25 0.4 0.05\n")
    (folder / "kinds.csv").write_text("name,index,kind\nform-p2,0,signature\n")
    for row in rows:
        digest = hashlib.sha256(files[row["path"]]).hexdigest()
        row.update(repo="example/pages", commit=commit, sha256="0" * 64 if wrong_sha else digest,
                   licence="MIT", redistributable="yes", note="")
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder / "manifest.csv"


def test_rebuild_from_a_mirror(project: Path, tmp_path: Path):
    mirror, commit, files = make_mirror(tmp_path)
    manifest = write_set(tmp_path / "set", commit, files)
    out = tmp_path / "built"
    run([sys.executable, "-m", "bench.realset", "--mirror", str(mirror), "--manifest", str(manifest),
         "--out", str(out)], project)
    assert Image.open(out / "images" / "wide-scan.png").size == (1800, 750)  # scaled down, never up
    width, height = Image.open(out / "images" / "form-p2.png").size  # 8.5 x 11 in at 150 dpi, pdfium rounds up
    assert width == 1275 and height in (1650, 1651)
    assert (out / "labels" / "form-p2.txt").read_text() == "0 0.5 0.25 0.4 0.05\n"
    assert (out / "labels" / "wide-scan.txt").read_text() == ""
    assert "val: images" in (out / "dataset.yaml").read_text()
    assert "0: handwriting" in (out / "dataset.yaml").read_text()
    assert (out / "kinds.csv").read_text() == "name,index,kind\nform-p2,0,signature\n"


def test_rebuild_black_and_white(project: Path, tmp_path: Path):
    mirror, commit, files = make_mirror(tmp_path)
    manifest = write_set(tmp_path / "set", commit, files)
    out = tmp_path / "built"
    run([sys.executable, "-m", "bench.realset", "--mirror", str(mirror), "--manifest", str(manifest),
         "--out", str(out), "--black-and-white"], project)
    for name, size in (("wide-scan", (1800, 750)), ("form-p2", None)):
        page = Image.open(out / "images" / f"{name}.png")
        assert page.mode == "L" and set(np.unique(np.asarray(page))) == {255}  # blank pages stay white
        assert size is None or page.size == size
    assert (out / "labels" / "form-p2.txt").read_text() == "0 0.5 0.25 0.4 0.05\n"
    grey = Image.fromarray(np.array([[250] * 8 + [120] * 4 + [30] * 4] * 3, np.uint8)).convert("RGB")
    bitonal = np.asarray(black_and_white(grey))
    assert (bitonal[:, :8] == 255).all() and (bitonal[:, 8:] == 0).all()  # pencil grey and black ink both black


KIND_FAULTS = {"count": "name,index,kind\n", "kind": "name,index,kind\nform-p2,0,tick\n",
               "order": "name,index,kind\nform-p2,1,line\n", "page": "name,index,kind\nform-p2,0,line\nother,0,line\n"}


@pytest.mark.parametrize("fault", ["sha256", "label", *KIND_FAULTS])
def test_refuses_a_changed_source_or_a_bad_label(project: Path, tmp_path: Path, fault: str):
    mirror, commit, files = make_mirror(tmp_path)
    manifest = write_set(tmp_path / "set", commit, files, wrong_sha=fault == "sha256")
    if fault == "label":
        (manifest.parent / "labels" / "form-p2.txt").write_text("0 0.5 0.25 1.4 0.05\n")
    if fault in KIND_FAULTS:
        (manifest.parent / "kinds.csv").write_text(KIND_FAULTS[fault])
    out = tmp_path / "built"
    cmd = ["bench.realset", "--mirror", str(mirror), "--manifest", str(manifest), "--out", str(out)]
    names = {"sha256": "wide-scan", "label": "form-p2.txt"}
    line = refused(cmd, project, names.get(fault, "kinds.csv"), watch=(tmp_path / "set",))
    assert not out.exists(), line

"""Faults and bad input for `preannotate`: a run into its own earlier output (the README's labelling walk-through),
page names that would collide, page kinds the `custom` stage cannot read, and inputs that give nothing. Each case
runs the real command in a copy of the project, with a real (untrained) detector, and checks the exit code, the one
line it prints and the sha256 of every file that existed before."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT, run
from faults import refused, snapshot
from hwdetect.preannotate.merge import RECORD
from hwdetect.sources.custom.convert import convert
from test_faults_predict import args, fault_project, model_files  # noqa: F401 (fixtures)

COMMAND = "hwdetect.preannotate"
FORMAT_OF = {".jpg": "JPEG", ".jpeg": "JPEG", ".jfif": "JPEG", ".gif": "GIF", ".ppm": "PPM", ".bmp": "BMP"}


def page(path: Path, shade: int, size: tuple[int, int] = (160, 96)) -> None:
    """A page with a line of ink; `shade` makes each page's pixels its own (no two pages are the same image)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, (245, 243 - shade, 235))
    ImageDraw.Draw(img).line([(10, 30 + shade), (size[0] - 10, 34 + shade)], fill=(20, 30, 120), width=3)
    img.save(path, format=FORMAT_OF.get(path.suffix.lower(), "PNG"))


def pages(folder: Path, *names: str) -> Path:
    for shade, name in enumerate(names):
        page(folder / name, shade)
    return folder


def preannotate(project: Path, model: Path, source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """The command, which must succeed without a traceback."""
    result = run([sys.executable, "-m", *args(COMMAND, model, source, out, *extra)], project, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def kept_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if "kept from the earlier output" in line]


def warnings(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def files_under(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by path relative to it."""
    return {os.path.relpath(k, folder): v for k, v in snapshot(folder).items() if v != "folder"}


def test_readme_walk_through_keeps_the_correction_the_notes_and_the_other_pages(fault_project, model_files,
                                                                                 tmp_path):
    """Pre-annotate, correct voc/p0.xml, add a notes file, run again with --worst 2: nothing of it is lost."""
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png", "p2.png", "p3.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "voc")
    (out / "voc" / "p0.xml").write_text("<annotation><!-- corrected by hand --></annotation>\n")
    (out / "notes.md").write_text("p2: the second line is a signature\n")
    before = files_under(out)
    result = preannotate(fault_project, model, source, out, "--formats", "voc", "--worst", "2")
    after = files_under(out)
    lost = [f for f in before if f not in after]
    changed = [f for f in before if after.get(f) != before[f] and f not in ("preannotations.csv", RECORD)]
    assert not lost and not changed, (lost, changed)  # the same model and pages: rewritten files are identical
    (line,) = kept_lines(result)
    assert "1 file you changed (voc/p0.xml" in line and "1 file you added (notes.md)" in line, line
    assert "2 of 4 files pre-annotated" in result.stdout and not warnings(result)
    third = preannotate(fault_project, model, source, out, "--formats", "voc", "--worst", "4")
    assert files_under(out)["voc/p0.xml"] == before["voc/p0.xml"]  # still the user's on every later run
    assert "voc/p0.xml" in kept_lines(third)[0]


def test_a_corrected_listing_file_is_kept_and_earlier_pages_stay_listed(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png", "p2.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "coco,yolo")
    listing = out / "coco" / "annotations" / "instances_default.json"
    listing.write_text(listing.read_text().replace("pre-annotations of", "checked pre-annotations of"))
    corrected = listing.read_bytes()
    result = preannotate(fault_project, model, source, out, "--formats", "coco,yolo", "--worst", "1")
    assert listing.read_bytes() == corrected and "instances_default.json" in kept_lines(result)[0]
    train = (out / "yolo" / "train.txt").read_text().split()  # rewritten: this run's page, then the earlier ones
    assert sorted(train) == [f"data/obj_train_data/p{n}.png" for n in range(3)]


def test_a_run_with_other_formats_keeps_the_earlier_formats(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "voc")
    voc = files_under(out / "voc")
    result = preannotate(fault_project, model, source, out, "--formats", "label-studio")
    assert files_under(out / "voc") == voc and (out / "label-studio" / "tasks.json").is_file()
    assert "4 files of pages or formats this run did not write again" in kept_lines(result)[0]


def test_an_output_of_an_older_version_without_a_record_keeps_every_file(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "voc")
    (out / RECORD).unlink()
    before = files_under(out)
    result = preannotate(fault_project, model, source, out, "--formats", "voc,yolo")
    after = files_under(out)
    assert all(after[f] == h for f, h in before.items() if f != "preannotations.csv")
    assert "no record of pre-annotation writing (preannotations.csv, voc/p0.png" in kept_lines(result)[0]
    assert "yolo/obj_train_data/p1.txt" in after and "voc/p0_2.png" not in after


def test_a_tampered_record_writes_nothing_outside_the_output(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "voc")
    record = json.loads((out / RECORD).read_text())
    record["pages"]["voc"][0]["name"] = "../../escaped.png"
    (out / RECORD).write_text(json.dumps(record))
    preannotate(fault_project, model, source, out, "--formats", "voc")
    assert not (tmp_path / "escaped.png").exists() and not (tmp_path / "escaped.xml").exists()
    assert sorted(files_under(out / "voc")) == ["p0.png", "p0.xml"]


def test_a_file_where_this_run_writes_a_folder_is_refused_and_kept(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png"), tmp_path / "labelling"
    preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc")
    (out / "yolo").write_text("my own file, where the yolo folder goes\n")
    refused(args(COMMAND, model_files / "detector.pt", source, out, "--formats", "yolo"), fault_project,
            "labelling/yolo", "move it out", watch=(tmp_path,))


@pytest.mark.parametrize("names, expected", [
    (("scan.png", "scan.jpg"), {"scan.png": "scan_2.png", "scan.jpg": "scan.jpg"}),
    (("a/b.png", "a__b.png"), {"a/b.png": "a__b_2.png", "a__b.png": "a__b.png"}),
    (("classes.png", "Train.jpg", "README.png", "notes.png"),
     {"classes.png": "page_classes.png", "Train.jpg": "page_Train.jpg", "README.png": "page_README.png",
      "notes.png": "page_notes.png"}),
    (("Scan.png", "scan.PNG"), {"Scan.png": "Scan.png", "scan.PNG": "scan_2.PNG"}),
], ids=["same-stem", "folder-joined", "reserved", "letter-case"])
def test_page_names_never_collide_and_every_page_converts_back(names, expected, fault_project, model_files,
                                                               tmp_path):
    source, out = pages(tmp_path / "pages", *names), tmp_path / "labelling"
    result = preannotate(fault_project, model_files / "detector.pt", source, out)
    written = {r.split(",")[1]: r.split(",")[2] for r in (out / "preannotations.csv").read_text().splitlines()[1:]}
    assert written == expected and not warnings(result)
    assert (out / "yolo" / "obj_train_data" / "classes.txt").read_text() == "handwriting\n"
    for fmt in ("yolo", "voc", "coco"):
        report = convert(out / fmt, tmp_path / f"custom-{fmt}", fmt=fmt)
        assert report["images"]["converted"] == len(names), (fmt, report["problems"])


def test_a_page_keeps_its_name_when_a_later_run_finds_a_namesake(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "scan.png"), tmp_path / "labelling"
    model = model_files / "detector.pt"
    preannotate(fault_project, model, source, out, "--formats", "voc")
    first = files_under(out / "voc")
    page(source / "scan.jpg", 5)  # sorts first: without the record it would take the name scan
    preannotate(fault_project, model, source, out, "--formats", "voc")
    after = files_under(out / "voc")
    assert {f: after[f] for f in first} == first and {"scan_2.jpg", "scan_2.xml"} <= set(after)


@pytest.mark.parametrize("name", ["anim.gif", "photo.jfif", "scan.ppm"])
def test_a_page_of_a_kind_the_custom_stage_cannot_read_is_written_as_png(name, fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", name), tmp_path / "labelling"
    preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc,coco")
    assert (out / "voc" / f"{name}.png").is_file() and Image.open(out / "voc" / f"{name}.png").format == "PNG"
    for fmt in ("voc", "coco"):
        assert convert(out / fmt, tmp_path / f"custom-{fmt}", fmt=fmt)["images"]["converted"] == 1


def test_every_input_skipped_is_one_error_line_and_nothing_written(fault_project, model_files, tmp_path):
    source = tmp_path / "pages"
    source.mkdir()
    (source / "notes.txt").write_text("not a page\n")
    (source / "cut.pdf").write_bytes(b"%PDF-1.4\n")
    line = refused(args(COMMAND, model_files / "detector.pt", source, tmp_path / "out"), fault_project,
                   "--source", "none of its 2 files", "notes.txt", "cut.pdf", watch=(tmp_path,))
    assert "nothing was written" in line and not (tmp_path / "out").exists()


def test_every_input_skipped_leaves_an_earlier_output_as_it_was(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png"), tmp_path / "labelling"
    preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc")
    (source / "p0.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    refused(args(COMMAND, model_files / "detector.pt", source, out), fault_project, "p0.png",
            watch=(tmp_path,))


def test_a_single_unreadable_source_file_is_one_error_line(fault_project, model_files, tmp_path):
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    refused(args(COMMAND, model_files / "detector.pt", tmp_path / "scan.pdf", tmp_path / "out"), fault_project,
            "--source", "scan.pdf", "PDF", watch=(tmp_path,))


def test_some_inputs_skipped_is_one_warning_line_with_counts_and_reasons(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png"), tmp_path / "labelling"
    (source / "todo.txt").write_text("label these first\n")
    result = preannotate(fault_project, model_files / "detector.pt", source, out)
    (line,) = warnings(result)
    assert "1 of 3 files skipped" in line and "not an image" in line and "todo.txt" in line, line


def test_an_empty_format_list_is_refused(fault_project, model_files, tmp_path):
    source = pages(tmp_path / "pages", "p0.png")
    refused(args(COMMAND, model_files / "detector.pt", source, tmp_path / "out", "--formats", ","), fault_project,
            "--formats", watch=(tmp_path,))


def test_a_link_the_user_added_is_kept_as_a_link(fault_project, model_files, tmp_path):
    source, out = pages(tmp_path / "pages", "p0.png"), tmp_path / "labelling"
    preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc")
    os.symlink(source, out / "originals")
    result = preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc")
    assert os.readlink(out / "originals") == str(source) and "originals" in kept_lines(result)[0]


def test_a_kill_at_any_step_of_a_merge_loses_nothing_the_user_wrote(fault_project, model_files, tmp_path):
    """`kill -9` at file-system steps spread over a run into an earlier output (tests/kill_at.py): after the next
    start's recovery the folder is the old version or the new one, whole, with the user's files in it."""
    source, out = pages(tmp_path / "pages", "p0.png", "p1.png", "p2.png"), tmp_path / "labelling"
    cmd = [str(ROOT / "tests" / "kill_at.py"), *args(COMMAND, model_files / "detector.pt", source, out, "--formats",
                                                     "voc", "--worst", "1")]
    preannotate(fault_project, model_files / "detector.pt", source, out, "--formats", "voc")
    (out / "voc" / "p0.xml").write_text("<annotation>corrected</annotation>\n")
    (out / "notes.md").write_text("my notes\n")
    backup = tmp_path / "backup"
    shutil.copytree(out, backup, symlinks=True)
    old = files_under(out)
    total = int(run([sys.executable, cmd[0], "0", *cmd[1:]], fault_project).stderr.splitlines()[-1].split()[-1])
    new = files_under(out)
    for k in sorted({1, total // 4, total // 2, 3 * total // 4, total}):
        shutil.rmtree(out)
        shutil.copytree(backup, out, symlinks=True)
        killed = run([sys.executable, cmd[0], str(k), *cmd[1:]], fault_project, check=False)
        assert killed.returncode == -9, f"step {k}: {killed.stderr[-2000:]}"
        run([sys.executable, "-c", f"from hwdetect.files.atomic import recover; from pathlib import Path; "
                                   f"recover(Path({str(out)!r}), {COMMAND!r})"], fault_project)
        state = files_under(out)
        assert state in (old, new), f"a kill at step {k}/{total} left neither the old output nor the new one"
        assert state["voc/p0.xml"] == old["voc/p0.xml"] and state["notes.md"] == old["notes.md"]

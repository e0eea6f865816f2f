"""Boxes that fall on print: per page, on print-only pages (no labelled handwriting) and, where a set labels print
(a class named `print`), on the print itself; handwriting alone is scored, whatever else the set or model holds."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import stage
from faults import refused
from hwdetect.cli import UserError
from hwdetect.evaluation.errors import image_errors, summarise, union_share
from hwdetect.evaluation.truth import print_class
from hwdetect.files.yolo_labels import read_rows
from test_faults_predict import fault_project, model_files  # noqa: F401 (fixtures)

LINES = np.array([[0, y, 100, y + 10] for y in (0, 20)], float)  # two labelled lines, 10 px high, 100 px wide
NONE = np.zeros((0, 4))


def test_every_box_on_a_print_only_page_is_off_the_handwriting_and_counted_per_page():
    on_line, off_line = [0, 0, 100, 10], [0, 100, 100, 110]
    labelled = image_errors(np.array([on_line, off_line], float), LINES)
    print_only = image_errors(np.array([on_line, off_line, [0, 200, 50, 220]], float), NONE)
    assert print_only["boxes_off_lines"] == 3 and print_only["boxes_on_print_only_pages"] == 3
    assert labelled["boxes_off_lines"] == 1 and labelled["boxes_on_print_only_pages"] == 0
    errors = summarise([labelled, print_only, image_errors(NONE, NONE)])
    assert {k: errors[k] for k in ("pages", "print_only_pages", "boxes", "boxes_off_lines",
                                   "boxes_on_print_only_pages")} == {
        "pages": 3, "print_only_pages": 2, "boxes": 5, "boxes_off_lines": 4, "boxes_on_print_only_pages": 3}
    assert errors["boxes_off_lines_per_page"] == pytest.approx(4 / 3, abs=1e-5)
    assert errors["boxes_on_print_only_pages_per_page"] == 1.5  # 3 boxes over 2 print-only pages
    assert errors["boxes_off_lines_per_line"] == 2.0  # 4 boxes over the 2 labelled lines
    assert errors["boxes_on_print"] is None and errors["boxes_on_print_per_page"] is None  # no print labelled


def test_a_set_of_print_only_pages_has_no_per_line_rates_and_no_set_without_them_has_print_only_figures():
    errors = summarise([image_errors(np.array([[0, 0, 10, 10]], float), NONE)])
    assert errors["lines"] == 0 and errors["boxes_off_lines_per_page"] == 1.0
    assert errors["missed_per_line"] is None and errors["boxes_off_lines_per_line"] is None
    labelled = summarise([image_errors(LINES, LINES)])
    assert labelled["print_only_pages"] == 0 and labelled["boxes_on_print_only_pages_per_page"] is None
    assert labelled["boxes_off_lines_per_page"] == 0.0 and labelled["found"] == 2


def test_a_box_is_on_print_when_half_its_area_lies_on_the_print_boxes_and_it_finds_no_line():
    printed = np.array([[0, 100, 100, 110],            # a printed line under the handwriting
                        [0, 200, 60, 210], [40, 200, 70, 210],  # two overlapping print boxes: 70 px wide together
                        [0, 300, 50, 310]], float)
    pred = np.array([
        [0, 0, 100, 10],      # finds line 0: never on print, even where print were labelled under it
        [0, 100, 100, 110],   # on the printed line
        [0, 100, 100, 120],   # half on it (50 %): on print
        [0, 100, 100, 125],   # 40 % on it: off the handwriting, not on print
        [0, 200, 100, 210],   # 70 % under the union of two print boxes (90 % if they were added up)
        [0, 300, 100, 310],   # 50 % on a print box
        [0, 500, 100, 510],   # background
    ], float)
    errors = image_errors(pred, LINES, printed)
    assert errors["found"] == 1 and errors["boxes_off_lines"] == 6 and errors["boxes_on_print"] == 4
    assert union_share(pred[4:5], printed).tolist() == pytest.approx([0.7])
    both = summarise([errors, image_errors(NONE, NONE, NONE)])
    assert both["boxes_on_print"] == 4 and both["boxes_on_print_per_page"] == 2.0
    with_line_under_print = image_errors(pred[:1], LINES, pred[:1])
    assert with_line_under_print["found"] == 1 and with_line_under_print["boxes_on_print"] == 0


def test_union_share_counts_overlapping_cover_once_and_ignores_cover_outside_the_box():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 5, 5, 9]], float)  # the last one has no area
    cover = np.array([[0, 0, 5, 10], [0, 0, 5, 10], [5, 0, 10, 5], [-50, -50, 0, 0]], float)
    assert union_share(boxes, cover).tolist() == [0.75, 0.0, 0.0]
    assert union_share(boxes, NONE).tolist() == [0.0, 0.0, 0.0]


def test_print_class_is_found_by_name_and_a_label_of_a_class_the_set_lacks_is_refused_naming_its_line(tmp_path):
    assert print_class({0: "handwriting", 1: "print"}) == 1 and print_class({0: "handwriting"}) is None
    assert print_class({0: "handwriting", 1: "stamp", 2: "Print"}) == 2
    label = tmp_path / "page.txt"
    label.write_text("0 0.5 0.5 0.2 0.1\n\n1 0.5 0.2 0.9 0.1\n")
    assert [c for c, _ in read_rows(label, 2)] == [0, 1]
    with pytest.raises(UserError, match=r"page.txt:3: expected `0 cx cy w h`"):
        read_rows(label, 1)
    label.write_text("0 0.5 0.5 0.2 0.1\n2 0.5 0.2 0.9 0.1\n")
    with pytest.raises(UserError, match=r"page.txt:2: expected `class \(0 to 1\) cx cy w h`"):
        read_rows(label, 2)


def make_set(root: Path, project: Path, pages: dict[str, str | None], names: dict[int, str]) -> Path:
    """A dataset of copies of one validation page of the tiny project: each named page gets the label text given
    (None: no label file). Every page shows the same image, so a model gives every page the same boxes."""
    image = sorted((project / "data" / "split" / "images" / "val").glob("*.jpg"))[0]
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for name, text in pages.items():
        shutil.copyfile(image, root / "images" / f"{name}.jpg")
        if text is not None:
            (root / "labels" / f"{name}.txt").write_text(text)
    (root / "dataset.yaml").write_text(yaml.safe_dump({"train": "images", "val": "images", "names": names}))
    return root / "dataset.yaml"


def page_lines(project: Path) -> str:
    label = sorted((project / "data" / "split" / "labels" / "val").glob("*.txt"))[0]
    return label.read_text()


def evaluated(project: Path, data: Path, out: Path, model: str = "models/detector/best.pt") -> dict:
    """The metrics of `evaluate` on the val split of `data`, counting every box of score 0.001 or more (the tiny
    model's scores are low; the arithmetic is the same at any threshold)."""
    result = stage(project, "evaluate", "--model", model, "--data", str(data), "--split", "val", "--out", str(out),
                   "--keep-conf", "0.001")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["errors"]["keep_conf"] == 0.001 and "boxes off the labelled handwriting" in result.stdout
    return metrics


@pytest.mark.slow
def test_boxes_on_a_print_only_page_are_all_off_the_handwriting(trained_project, tmp_path):
    lines = page_lines(trained_project)
    data = make_set(tmp_path / "set", trained_project, {"a-labelled": lines, "b-empty-label": "",
                                                        "c-no-label": None}, {0: "handwriting"})
    metrics = evaluated(trained_project, data, tmp_path / "out")
    e = metrics["errors"]
    per_page = e["boxes"] // 3
    assert per_page > 0 and e["boxes"] == 3 * per_page, "the same image gives each page the same boxes"
    assert e["pages"] == 3 and e["print_only_pages"] == 2 and e["boxes_on_print_only_pages"] == 2 * per_page
    assert e["boxes_on_print_only_pages_per_page"] == per_page
    assert e["boxes_off_lines"] >= 2 * per_page
    assert e["boxes_off_lines_per_page"] == round(e["boxes_off_lines"] / 3, 5)
    assert e["lines"] == metrics["instances"] == len(lines.splitlines())  # the print-only pages add no lines
    assert metrics["mAP50"] is not None and metrics["images"] == 3
    assert "print-only pages" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.slow
def test_a_set_that_labels_print_reports_boxes_on_print_and_scores_handwriting_alone(trained_project, tmp_path):
    lines = page_lines(trained_project)
    whole_page_print = "1 0.5 0.5 1 1\n"
    with_print = make_set(tmp_path / "print", trained_project, {"a": lines + whole_page_print, "b": whole_page_print},
                          {0: "handwriting", 1: "print"})
    without = make_set(tmp_path / "plain", trained_project, {"a": lines, "b": ""}, {0: "handwriting"})
    printed, plain = (evaluated(trained_project, d, tmp_path / f"out-{d.parent.name}") for d in (with_print, without))
    e = printed["errors"]
    assert e["boxes"] > 0 and e["print_only_pages"] == 1
    # Print covers each page whole, so every box that finds no line lies on it.
    assert e["boxes_on_print"] == e["boxes"] - e["found"] and e["boxes_on_print_per_page"] == e["boxes_on_print"] / 2
    assert plain["errors"]["boxes_on_print"] is None
    assert printed["instances"] == plain["instances"] == e["lines"] == len(lines.splitlines())
    for key in ("mAP50", "mAP50-95", "precision", "recall"):
        assert printed[key] == plain[key], key
    assert {k: v for k, v in e.items() if "print" not in k} == {k: v for k, v in plain["errors"].items()
                                                                  if "print" not in k}
    assert "boxes on labelled print" in (tmp_path / "out-print" / "report.html").read_text()


def two_class_model(path: Path, names: dict[int, str], favoured: int) -> Path:
    """An untrained detector of two classes whose class `favoured` outscores the other on every box."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    net = DetectionModel("yolov8n.yaml", nc=2, verbose=False)
    for branch in net.model[-1].cv3:
        branch[-1].bias.data[favoured] = 8.0
    net.names, net.args = names, {"imgsz": 64, "task": "detect"}
    torch.save({"model": net, "train_args": {"imgsz": 64, "task": "detect"}, "epoch": -1}, path)
    return path


@pytest.mark.slow
def test_a_model_that_also_detects_print_is_scored_on_its_handwriting_boxes_alone(trained_project, tmp_path):
    from ultralytics import YOLO

    data = make_set(tmp_path / "set", trained_project, {"a": page_lines(trained_project) + "1 0.5 0.5 1 1\n"},
                    {0: "handwriting", 1: "print"})
    names = {0: "handwriting", 1: "print"}
    for favoured in (0, 1):
        model = two_class_model(tmp_path / f"favours{favoured}.pt", names, favoured)
        boxes = YOLO(str(model)).predict(str(data.parent / "images" / "a.jpg"), imgsz=64, verbose=False)[0].boxes
        assert len(boxes) and set(boxes.cls.tolist()) == {favoured}
        e = evaluated(trained_project, data, tmp_path / f"out{favoured}", str(model))["errors"]
        assert (e["boxes"] > 0) == (favoured == 0), "print boxes are no handwriting boxes"
    reversed_names = two_class_model(tmp_path / "reversed.pt", {0: "print", 1: "handwriting"}, 0)
    refused(["stages.evaluate", "--model", str(reversed_names), "--data", str(data), "--split", "val", "--out",
             str(tmp_path / "refused")], trained_project, "reversed.pt", "expected 1 or handwriting as class 0",
            watch=(tmp_path / "set",))


@pytest.mark.slow
def test_bench_transfer_scores_a_real_set_beside_the_proxies_with_a_row_of_the_table(trained_project, tmp_path):
    from conftest import run

    data = make_set(tmp_path / "letters", trained_project, {"a": page_lines(trained_project) + "1 0.5 0.1 0.8 0.1\n",
                                                            "b": "1 0.5 0.5 0.9 0.2\n"}, {0: "handwriting", 1: "print"})
    count = len(page_lines(trained_project).splitlines())
    kinds = ["signature"] + ["line"] * (count - 1)
    (data.parent / "kinds.csv").write_text("name,index,kind\n" + "".join(f"a,{i},{k}\n" for i, k in enumerate(kinds)))
    result = run([sys.executable, "-m", "bench.transfer", "--pages", "2", "--real", str(data)], trained_project)
    rows = {r["set"]: r for r in map(json.loads, (line for line in result.stdout.splitlines() if line[:1] == "{"))}
    real = rows["letters"]
    by_kind = real["found_by_kind"]
    assert by_kind["signature"][1] == 1 and by_kind["line"][1] == count - 1, "every labelled box counted by its kind"
    assert by_kind["signature"][0] + by_kind["line"][0] == real["found"] and rows["seen"]["found_by_kind"] is None
    assert f"letters, found by kind: line {by_kind['line'][0]}/{count - 1}, signature" in result.stdout
    assert real["split"] == "val" and real["pages"] == 2 and real["print_only_pages"] == 1
    assert real["boxes_on_print_per_page"] is not None and rows["seen"]["pages"] == 2
    assert real["mAP50"] is not None and real["lines"] == len(page_lines(trained_project).splitlines())
    table = [line for line in result.stdout[result.stdout.index("| set |"):].splitlines() if line[:1] == "|"]
    assert len(table) == 2 + len(rows) and any(line.startswith("| letters | 2 |") for line in table)
    if "print-only" in rows:
        assert rows["print-only"]["mAP50"] is None and rows["print-only"]["print_only_pages"] == 2
    bad = run([sys.executable, "-m", "bench.transfer", "--real", str(tmp_path / "missing.yaml")], trained_project,
              check=False)
    assert bad.returncode == 2 and "missing.yaml: not found" in bad.stderr and "Traceback" not in bad.stderr


def test_a_label_of_a_class_the_dataset_does_not_name_is_refused_in_one_line(fault_project, model_files, tmp_path):
    from test_faults_evaluate import make_dataset

    data = make_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "labels" / "test" / "test1.txt").write_text("0 0.5 0.44 0.875 0.1\n1 0.5 0.2 0.9 0.1\n")
    refused(["stages.evaluate", "--model", str(model_files / "detector.pt"), "--data", str(data), "--out",
             str(tmp_path / "out")], fault_project, "labels/test/test1.txt:2", "expected `0 cx cy w h`",
            watch=(model_files, tmp_path))
    assert not (tmp_path / "out").exists()
    data.write_text(data.read_text().replace("0: handwriting", "0: handwriting\n  1: print"))
    (tmp_path / "ds" / "labels" / "test" / "test1.txt").write_text("2 0.5 0.2 0.9 0.1\n")
    refused(["stages.evaluate", "--model", str(model_files / "detector.pt"), "--data", str(data), "--out",
             str(tmp_path / "out")], fault_project, "test1.txt:1", "class (0 to 1)", watch=(model_files, tmp_path))

"""The split stage: ratios, groups kept together, a relocatable dataset.yaml."""
from __future__ import annotations

import csv

import yaml

from conftest import make_split, stage, write_params
from hwdetect.sources.split import assign


def test_groups_never_straddle_splits_and_ratios_hold():
    groups = {f"writer{i}": [f"w{i}_{k}.png" for k in range(1 + i % 4)] for i in range(60)}
    splits = assign(groups, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=5)
    seen = [g for members in splits.values() for g in members]
    assert sorted(seen) == sorted(groups) and len(seen) == len(set(seen))
    total = sum(len(v) for v in groups.values())
    train = sum(len(groups[g]) for g in splits["train"])
    assert abs(train / total - 0.8) < 0.05
    assert splits == assign(groups, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=5)
    assert splits != assign(groups, {"train": 0.8, "val": 0.1, "test": 0.1}, seed=6)


def test_split_stage_writes_ultralytics_layout(project):
    make_split(project)
    out = project / "data" / "split"
    dataset = yaml.safe_load((out / "dataset.yaml").read_text())
    assert dataset == {"train": "images/train", "val": "images/val", "test": "images/test", "names": {0: "handwriting"}}
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert len(rows) == 16
    counts = {s: len(list((out / "images" / s).iterdir())) for s in ("train", "val", "test")}
    assert counts == {"train": 10, "val": 3, "test": 3}
    labels = [out / "labels" / row["split"] / row["image"].replace(".jpg", ".txt") for row in rows]
    for row, label in zip(rows, labels):
        assert (out / "images" / row["split"] / row["image"]).exists()
        text = label.read_text()
        assert text == "" or text.startswith("0 "), label  # a print-only page has an empty label file
    assert sum(bool(label.read_text()) for label in labels) >= 12, "most pages carry handwriting"


def test_missing_source_is_a_clear_error(project):
    result = stage(project, "source", "synthetic", check=False)
    assert result.returncode == 2
    assert "data/sources/synthetic/groups.csv: missing; run the stage that produces this source" in result.stderr
    result = stage(project, "split", check=False)
    assert result.returncode == 2 and "data/selected/synthetic.csv: missing" in result.stderr
    assert not (project / "data" / "split").exists()


def test_source_index_rejects_a_bad_label_naming_file_and_line(project):
    stage(project, "synthetic")
    label = project / "data/sources/synthetic/labels/syn000003.txt"
    label.write_text(label.read_text() + "1 0.5 0.5 0.2\n")
    result = stage(project, "source", "synthetic", check=False)
    assert result.returncode == 2
    line = len(label.read_text().splitlines())
    assert f"data/sources/synthetic/labels/syn000003.txt:{line}: expected `0 cx cy w h`" in result.stderr
    assert not (project / "data/selected/synthetic.csv").exists()


def test_unselected_source_is_refused(project):
    result = stage(project, "source", "iam", check=False)
    assert result.returncode == 2 and "'iam' is not selected" in result.stderr


def test_a_source_left_out_of_val_and_test_is_a_warning(project):
    """One export in one sub-folder of data/custom is one group: all of it lands in one split."""
    from test_custom import page, voc
    for name in ("p1", "p2", "p3"):
        page(project / "data/custom/export-1" / f"{name}.jpg")
        voc(project / "data/custom/export-1" / f"{name}.xml", [("handwriting", (20, 10, 120, 30))])
    write_params(project, {"data": {"sources": ["synthetic", "custom"]}})
    for name, *args in (("synthetic",), ("source", "synthetic"), ("custom",), ("source", "custom")):
        stage(project, name, *args)
    out = stage(project, "split").stdout
    assert ("warning: split: source custom has no images in val or test: its 3 images form 1 group(s), and a group "
            "never straddles two splits, so it is not scored there; put each document or writer in a sub-folder of "
            "its own in data/custom (README: Your own annotated documents)") in out
    assert "warning: split: source synthetic" not in out

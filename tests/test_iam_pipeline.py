"""`dvc repro` with every source: synthetic pages, IAM from a local copy of the IAM site (no IAM file is used
anywhere) and the user's own annotated documents (YOLO txt as labelImg writes it)."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import run, write_params
from hwdetect.sources.iam.sample import archive_members, make_form, tgz_bytes
from iam_fixtures import FakeIAMSite

EMAIL, PASSWORD = "writer@example.org", "Pa55-e2e-otter-4410"


def write_custom(folder):
    """Four photos of two documents (sub-folders), labelled in labelImg's YOLO mode."""
    import cv2
    import numpy as np
    (folder).mkdir(parents=True)
    (folder / "classes.txt").write_text("handwriting\nprinted\n")
    for doc in ("doc1", "doc2"):
        for page in (1, 2):
            (folder / doc).mkdir(exist_ok=True)
            img = np.full((300, 400), 235, np.uint8)
            cv2.putText(img, f"{doc} page {page}", (40, 150), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.2, 20, 2)
            cv2.imwrite(str(folder / doc / f"p{page}.jpg"), img)
            (folder / doc / f"p{page}.txt").write_text("0 0.4 0.47 0.6 0.2\n1 0.5 0.9 0.3 0.05\n")


@pytest.mark.slow
def test_repro_mixes_synthetic_iam_and_custom_and_keeps_groups_apart(git_project):
    p = git_project
    write_custom(p / "data" / "custom")
    forms = [make_form(f"a0{i}-00{i}", writer, seed=i) for i, writer in enumerate(["000", "000", "551", "551",
                                                                                     "634", "634", "700", "700",
                                                                                     "701", "702"])]
    files = {name: tgz_bytes(members) for name, members in archive_members(forms).items()}
    with FakeIAMSite(files, EMAIL, PASSWORD) as site:
        write_params(p, {"data": {"sources": ["synthetic", "iam", "custom"]}, "iam": {"base_url": site.url}})
        out = run(["dvc", "repro"], p, env={"IAM_USERNAME": EMAIL, "IAM_PASSWORD": PASSWORD})
    assert "Running stage 'iam/dvc.yaml:iam_download'" in out.stdout
    assert "Running stage 'source@iam'" in out.stdout
    assert "Running stage 'custom/dvc.yaml:custom'" in out.stdout
    assert PASSWORD not in out.stdout + out.stderr
    for secret_free in ("params.yaml", "dvc.lock", "iam/dvc.lock"):
        assert PASSWORD not in (p / secret_free).read_text()

    manifest = json.loads((p / "data/iam/manifest.json").read_text())
    assert sorted(manifest["archives"]) == sorted(files)
    assert all(len(a["sha256"]) == 64 and a["size"] > 0 for a in manifest["archives"].values())
    rows = list(csv.DictReader((p / "data/split/manifest.csv").open()))
    iam_rows = [r for r in rows if r["source"] == "iam"]
    assert len(iam_rows) == 10 and any(r["source"] == "synthetic" for r in rows)
    split_of_writer = {}
    for r in iam_rows:
        assert split_of_writer.setdefault(r["group"], r["split"]) == r["split"], "a writer in two splits"
    custom_rows = [r for r in rows if r["source"] == "custom"]
    assert len(custom_rows) == 4 and {r["group"] for r in custom_rows} == {"doc1", "doc2"}
    for doc in ("doc1", "doc2"):
        assert len({r["split"] for r in custom_rows if r["group"] == doc}) == 1
    label = next((p / "data/sources/custom/labels").glob("*.txt")).read_text().split()
    assert label[0] == "0" and len(label) == 5, "the printed class is dropped, the handwriting box kept"
    assert json.loads((p / "metrics/eval.json").read_text())["images"] > 0

    # Archives now on disk are used as they are: no site, no credentials, nothing downloaded again.
    run(["dvc", "repro", "-f", "iam/dvc.yaml:iam_download"], p)

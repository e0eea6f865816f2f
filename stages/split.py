"""Stage `split`: merge the selected sources into train/val/test in the Ultralytics layout.

Reads each source in `data.sources` through its index data/selected/<source>.csv (stage `source`) and writes
`data/split/` with images/<split>/, labels/<split>/, dataset.yaml and manifest.csv. Groups (a page, a writer) never
straddle two splits; each source is split by the ratios on its own, so mixing sources keeps their proportions.
"""
from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np
import yaml

from stages import params as P
from stages.common import ROOT, UserError, atomic_dir, cli, log, shown

SOURCES_DIR = ROOT / "data" / "sources"
INDEX_DIR = ROOT / "data" / "selected"
OUT = ROOT / "data" / "split"
CLASS_NAMES = {0: "handwriting"}


def read_groups(name: str) -> dict[str, list[str]]:
    """Map group → image file names, from the source's index written by the `source` stage."""
    table = INDEX_DIR / f"{name}.csv"
    if not table.exists():
        raise UserError(f"{shown(table)}: missing; run `dvc repro` (stage source@{name} writes it)")
    groups: dict[str, list[str]] = {}
    with table.open(newline="") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row["group"], []).append(row["image"])
    return groups


def assign(groups: dict[str, list[str]], ratios: dict[str, float], seed: int) -> dict[str, list[str]]:
    """Shuffle groups by seed and fill the splits in order until each holds its share of the images."""
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    total = sum(len(v) for v in groups.values())
    splits: dict[str, list[str]] = {s: [] for s in P.SPLITS}
    bounds = np.cumsum([ratios[s] * total for s in P.SPLITS])
    done = 0
    for k in order:
        # The first split whose cumulative share is not yet reached takes the group.
        target = next((s for s, b in zip(P.SPLITS, bounds) if done < b - 1e-9), P.SPLITS[-1])
        splits[target].append(names[k])
        done += len(groups[names[k]])
    return splits


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0],
                            epilog="Reads params.yaml: seed, data.sources, split.ratios.").parse_args()
    p = P.load()
    counts = {s: 0 for s in P.SPLITS}
    with atomic_dir(OUT) as out:
        for kind in ("images", "labels"):
            for s in P.SPLITS:
                (out / kind / s).mkdir(parents=True)
        rows = []
        for source in p["data"]["sources"]:
            src = SOURCES_DIR / source
            groups = read_groups(source)
            for split, members in assign(groups, p["split"]["ratios"], p["seed"]).items():
                for group in members:
                    for image in groups[group]:
                        name = f"{source}_{image}"
                        shutil.copyfile(src / "images" / image, out / "images" / split / name)
                        shutil.copyfile(src / "labels" / f"{Path(image).stem}.txt",
                                        out / "labels" / split / f"{Path(name).stem}.txt")
                        rows.append((name, split, source, group))
                        counts[split] += 1
        empty = [s for s, n in counts.items() if n == 0]
        if empty:
            raise UserError(f"params.yaml: split.ratios: split {empty[0]!r} got no images; "
                            f"generate more data or raise its ratio")
        (out / "manifest.csv").write_text("image,split,source,group\n" + "".join(",".join(r) + "\n" for r in sorted(rows)))
        dataset = {"train": "images/train", "val": "images/val", "test": "images/test", "names": CLASS_NAMES}
        (out / "dataset.yaml").write_text("# Ultralytics dataset; paths are relative to this file's folder\n"
                                          + yaml.safe_dump(dataset, sort_keys=False))
    log.info("split: " + ", ".join(f"{s} {n} images" for s, n in counts.items()))


if __name__ == "__main__":
    cli(main)

"""Merge data sources into train/val/test in the Ultralytics layout.

Groups (a page, a writer) never straddle two splits; each source is split by the ratios on its own, so mixing
sources keeps their proportions. The result holds images/<split>/, labels/<split>/, dataset.yaml and manifest.csv.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import yaml

from hwdetect import paths
from hwdetect.cli import UserError
from hwdetect.config.registry import SPLITS
from hwdetect.files.atomic import atomic_dir
from hwdetect.files.tables import ENCODING, read_table, table_text
from hwdetect.files.yolo_labels import CLASS_NAMES
from hwdetect.paths import shown


def read_groups(name: str, by: str = "group") -> dict[str, list[str]]:
    """Map group → image file names, from the source's index written by the `source` stage; by="image_md5" makes
    each page a group of its own, identical pages one group."""
    table = paths.source_index(name)
    if not table.exists():
        raise UserError(f"{shown(table)}: missing; run `dvc repro` (stage source@{name} writes it)")
    groups: dict[str, list[str]] = {}
    for row in read_table(table):
        groups.setdefault(row[by], []).append(row["image"])
    return groups


def assign(groups: dict[str, list[str]], ratios: dict[str, float], seed: int) -> dict[str, list[str]]:
    """Shuffle groups by seed and fill the splits in order until each holds its share of the images."""
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    total = sum(len(v) for v in groups.values())
    splits: dict[str, list[str]] = {s: [] for s in SPLITS}
    bounds = np.cumsum([ratios[s] * total for s in SPLITS])
    done = 0
    for i, k in enumerate(order):
        # The first split whose cumulative share is not yet reached takes the group, unless a split would then be
        # left without any: with as few groups left as empty splits, the first empty split takes it.
        target = next((s for s, b in zip(SPLITS, bounds) if done < b - 1e-9), SPLITS[-1])
        empty = [s for s in SPLITS if not splits[s]]
        if splits[target] and len(empty) >= len(names) - i:
            target = empty[0]
        splits[target].append(names[k])
        done += len(groups[names[k]])
    return splits


def write_split(out_dir: Path, sources: list[str], ratios: dict[str, float], seed: int
                ) -> tuple[dict[str, int], list[str]]:
    """Write the split of `sources` into out_dir (replaced whole, or left untouched on error); return the images per
    split, and a warning for each source that left val or test without any of its images."""
    counts, warnings = {s: 0 for s in SPLITS}, []
    with atomic_dir(out_dir) as out:
        for kind in ("images", "labels"):
            for s in SPLITS:
                (out / kind / s).mkdir(parents=True)
        rows, plans = [], {}
        for source in sources:
            groups = read_groups(source)
            plans[source] = (groups, assign(groups, ratios, seed))
        if any(not any(assigned[s] for _, assigned in plans.values()) for s in SPLITS):
            # A split would get no images (one export in one folder, say): the sources its groups cannot spread
            # over every split are split page by page instead, with a warning.
            for source, (groups, assigned) in list(plans.items()):
                if any(not assigned[s] for s in SPLITS):
                    pages = read_groups(source, by="image_md5")
                    plans[source] = (pages, assign(pages, ratios, seed))
                    warnings.append(by_page(source, groups))
        for source, (groups, assigned) in plans.items():
            src = paths.source_dir(source)
            if missing := [s for s in ("val", "test") if not assigned[s]]:
                warnings.append(thin_source(source, groups, missing))
            for split, members in assigned.items():
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
        (out / "manifest.csv").write_text(table_text(("image", "split", "source", "group"), sorted(rows)), **ENCODING)
        dataset = {"train": "images/train", "val": "images/val", "test": "images/test", "names": CLASS_NAMES}
        (out / "dataset.yaml").write_text("# Ultralytics dataset; paths are relative to this file's folder\n"
                                          + yaml.safe_dump(dataset, sort_keys=False))
    return counts, warnings


def by_page(source: str, groups: dict[str, list[str]]) -> str:
    images = sum(map(len, groups.values()))
    return (f"split: source {source}: its {images} images form {len(groups)} group(s), too few to give every split "
            f"some, so its pages were split one by one (identical pages kept together) and pages of one document "
            f"may be in more than one split; {fix_for(source)}")


def fix_for(source: str) -> str:
    return ("put each document or writer in a sub-folder of its own in data/custom (README: Your own annotated "
            "documents)" if source == "custom" else "add more of its data")


def thin_source(source: str, groups: dict[str, list[str]], missing: list[str]) -> str:
    images = sum(map(len, groups.values()))
    return (f"split: source {source} has no images in {' or '.join(missing)}: its {images} images form "
            f"{len(groups)} group(s), and a group never straddles two splits, so it is not scored there; "
            f"{fix_for(source)}")

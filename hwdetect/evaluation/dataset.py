"""The dataset.yaml that evaluation reads, checked before Ultralytics sees it: Ultralytics answers a bad one with a
traceback, and one whose images are missing with an attempt to download them. Every problem is one line naming the
file, the key and the fix."""
from __future__ import annotations

from pathlib import Path

import yaml

from hwdetect.cli import UserError
from hwdetect.files.walk import display, read_text, visible_files
from hwdetect.sources.images import IMAGE_SUFFIXES

FORMAT = "see docs.ultralytics.com/datasets/detect for the format"


def load_yaml(data: Path) -> dict:
    """The mapping in a dataset.yaml, or UserError naming the file (and line) and what is wrong."""
    if not data.exists():
        raise UserError(f"{display(data)}: not found; give an Ultralytics dataset.yaml (`dvc repro split` writes "
                        f"data/split/dataset.yaml)")
    if data.is_dir():
        raise UserError(f"{display(data)}: is a folder; give the dataset.yaml file inside it")
    text = read_text(data)
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UserError(f"{display(data)}{line}: not valid YAML ({getattr(err, 'problem', None) or err}); fix the "
                        f"syntax") from None
    if not isinstance(content, dict):
        raise UserError(f"{display(data)}: expected a mapping with train, val, test and names; {FORMAT}")
    return content


def class_count(data: Path, content: dict) -> int:
    """The number of classes `names` lists: a list, or a mapping numbered 0, 1, 2, ..."""
    names = content.get("names")
    if isinstance(names, list) and names:
        return len(names)
    if not isinstance(names, dict) or not names:
        raise UserError(f"{display(data)}: names: expected the class names, e.g. `names: {{0: handwriting}}`; "
                        f"{FORMAT}")
    for key in names:
        if not isinstance(key, int) or isinstance(key, bool):
            raise UserError(f"{display(data)}: names: key {key!r} is not a class number; number the classes 0, 1, "
                            f"2, ...")
    if sorted(names) != list(range(len(names))):
        raise UserError(f"{display(data)}: names: classes are numbered {sorted(names)}; number them 0 to "
                        f"{len(names) - 1} without gaps")
    return len(names)


def dataset_root(data: Path, content: dict) -> Path:
    """The folder split paths are relative to, found as Ultralytics finds it."""
    from ultralytics.utils import DATASETS_DIR

    given = content.get("path")
    if given is not None and not isinstance(given, str):
        raise UserError(f"{display(data)}: path: expected a folder name, got {given!r}")
    root = Path(given) if given else data.parent
    if not root.exists() and not root.is_absolute():
        root = DATASETS_DIR / root
    if not root.is_dir():
        raise UserError(f"{display(data)}: path: {given} is not a folder (looked for {display(root)}); give the "
                        f"dataset's folder, or leave path out so that paths are relative to the file's folder")
    return root


def split_files(data: Path, root: Path, split: str, value: object) -> list[Path]:
    """The images of one split: folders of images, or .txt lists of image paths."""
    entries = value if isinstance(value, list) else [value]
    if not entries or not all(isinstance(e, str) and e for e in entries):
        raise UserError(f"{display(data)}: {split}: expected a folder of images (or a list of them), got {value!r}")
    images = []
    for entry in entries:
        where = (root / entry).resolve()
        if where.is_dir():
            images += [p for p in visible_files(where) if p.suffix.lower() in IMAGE_SUFFIXES]
        elif where.is_file() and where.suffix == ".txt":
            lines = [line.strip() for line in read_text(where).splitlines() if line.strip()]
            images += [p for p in ((where.parent / line).resolve() for line in lines) if p.is_file()]
        else:
            raise UserError(f"{display(data)}: {split}: {entry} not found (looked for {display(where)}); give the "
                            f"folder of the split's images")
    if not images:
        raise UserError(f"{display(data)}: {split}: no images in {', '.join(map(str, entries))}; put the split's "
                        f"images there ({', '.join(IMAGE_SUFFIXES)}) or choose another split")
    return sorted(images)


def read_dataset(data: Path, split: str) -> tuple[list[Path], int]:
    """The images of `split` and the number of classes, from a dataset.yaml checked whole."""
    content = load_yaml(data)
    classes = class_count(data, content)
    splits = [k for k in ("train", "val", "test") if content.get(k)]
    if not content.get(split):
        raise UserError(f"{display(data)}: no split {split!r} (it has {', '.join(splits) or 'none'}); pass --split "
                        f"with one of them, or add {split}: <folder of images>")
    for key in ("train", "val"):
        if not content.get(key):
            raise UserError(f"{display(data)}: {key}: missing; Ultralytics needs train and val folders in every "
                            f"dataset.yaml (they may name the same folder)")
    root = dataset_root(data, content)
    return split_files(data, root, split, content[split]), classes


def class_names(data: Path) -> dict[int, str]:
    """The class names of a dataset.yaml (checked as read_dataset checks them), numbered from 0."""
    content = load_yaml(data)
    class_count(data, content)
    names = content["names"]
    return {k: str(v) for k, v in (enumerate(names) if isinstance(names, list) else names.items())}

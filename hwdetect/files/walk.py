"""The walk over a user's folder: every file below it, in a fixed order, without hidden files and folders
(`.DS_Store`, `.git/`, `._IMG_1.jpg`, DVC's `.dvc` files' temporaries)."""
from __future__ import annotations

from pathlib import Path


def visible_files(root: Path) -> list[Path]:
    """Files under `root`, sorted, skipping any whose path below `root` has a part starting with a dot."""
    return sorted(p for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))

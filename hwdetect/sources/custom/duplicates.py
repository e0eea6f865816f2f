"""The same page under two names (a scan exported twice, a copy in another folder): reported, and kept in one group
so that it never straddles train and test; a whole folder that repeats another (one export unzipped twice) is named
once."""
from __future__ import annotations

import hashlib
from pathlib import Path

from hwdetect.cli import one_line
from hwdetect.files.walk import display


def same_pages(written: dict[str, Path], groups: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Groups with byte-identical source images moved into one group (the first by name), and one line for each set."""
    by_digest = digests(written)
    group_of, problems = dict(groups), []
    for names in (n for n in by_digest.values() if len(n) > 1):
        group = min(group_of[name] for name in names)
        for name in names:
            group_of[name] = group
        problems.append(f"{', '.join(display(written[n]) for n in names)}: the same image under {len(names)} names; "
                        f"all kept, in one group ({one_line(group)}) so the page never straddles train and test; "
                        f"delete the copies if they are one page")
    return sorted(group_of.items()), problems


def digests(written: dict[str, Path]) -> dict[str, list[str]]:
    """Output names by the md5 of their source image."""
    by_digest: dict[str, list[str]] = {}
    for name, path in sorted(written.items()):
        by_digest.setdefault(hashlib.md5(path.read_bytes()).hexdigest(), []).append(name)
    return by_digest


def same_exports(written: dict[str, Path], src_dir: Path) -> list[str]:
    """One line for each set of top-level folders of src_dir that hold exactly the same images."""
    by_folder: dict[str, set[str]] = {}
    for digest, names in digests(written).items():
        for name in names:
            parts = written[name].relative_to(src_dir).parts
            if len(parts) > 1:
                by_folder.setdefault(parts[0], set()).add(digest)
    by_content: dict[frozenset[str], list[str]] = {}
    for folder, content in sorted(by_folder.items()):
        by_content.setdefault(frozenset(content), []).append(folder)
    return [f"{', '.join(display(src_dir / f) for f in folders)}: the same {len(content)} images in each, so the "
            f"same export {len(folders)} times; all kept, in one group; delete all copies but one"
            for content, folders in by_content.items() if len(folders) > 1]

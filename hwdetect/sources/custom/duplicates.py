"""The same page under two names (a scan exported twice, a copy in another folder): reported, and kept in one group
so that it never straddles train and test."""
from __future__ import annotations

import hashlib
from pathlib import Path

from hwdetect.cli import one_line
from hwdetect.files.walk import display


def same_pages(written: dict[str, Path], groups: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Groups with byte-identical source images moved into one group (the first by name), and one line for each set."""
    by_digest: dict[str, list[str]] = {}
    for name, path in sorted(written.items()):
        by_digest.setdefault(hashlib.md5(path.read_bytes()).hexdigest(), []).append(name)
    group_of, problems = dict(groups), []
    for names in (n for n in by_digest.values() if len(n) > 1):
        group = min(group_of[name] for name in names)
        for name in names:
            group_of[name] = group
        problems.append(f"{', '.join(display(written[n]) for n in names)}: the same image under {len(names)} names; "
                        f"all kept, in one group ({one_line(group)}) so the page never straddles train and test; "
                        f"delete the copies if they are one page")
    return sorted(group_of.items()), problems

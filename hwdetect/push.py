"""`python -m hwdetect.push` (`make push`): send data, models and the run cache to the DVC remote, completely.

`dvc push --run-cache` sends the selected pipeline's cached outputs and the run-cache entries (the record of each
stage run), but not every object those entries refer to: the git-tracked metrics JSONs (DVC `cache: false`) and
the outputs of runs no longer in the workspace stay behind. Another machine's `dvc repro --pull` then finds the
entry, misses its objects and runs the stage again. This command does the DVC push, then sends every object the
local run cache refers to, so that any run made here can be restored elsewhere instead of being run again. The
remote is checked first, in seconds, and a failure is one line naming it, its bucket or the missing credentials.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hwdetect.cli import cli, log
from hwdetect.remote import SELECTED, check, open_repo, talking_to


def run_cache_entries(cache_dir: Path) -> list[tuple[str, str]]:
    """(key, value) of every run-cache entry in a DVC cache: runs/<key[:2]>/<key>/<value>."""
    return sorted((entry.parent.name, entry.name) for entry in (cache_dir / "runs").glob("*/*/*") if entry.is_file())


def push(remote: str | None = None) -> tuple[int, int]:
    """Push the selected pipeline and the run cache with their objects; return (entries, objects sent)."""
    with open_repo() as repo:
        name, conf = check(repo, remote, writing=True)
        with talking_to(repo, name, conf):
            repo.push(targets=SELECTED, with_deps=True, run_cache=True, remote=name)
            entries = run_cache_entries(Path(repo.cache.legacy.path))
            sent = 0
            for odb, objects in repo.stage_cache.get_used_objs(entries).items():
                sent += len(repo.cloud.push(objects, remote=name, odb=odb).transferred)
    return len(entries), sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remote", help="DVC remote to push to (default: the default remote)")
    entries, sent = push(parser.parse_args().remote)
    log.info(f"push: the selected pipeline's outputs, {entries} run-cache entries and {sent} more objects they use")


if __name__ == "__main__":
    cli(main)

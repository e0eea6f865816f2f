"""`python -m hwdetect.pull` (`make pull`): this commit's outputs of the selected pipeline from the DVC remote.

It is `dvc pull --with-deps dvc.yaml` (README: Sharing data and models), after checking in seconds that the remote
answers; any failure is one line naming the remote, its bucket or the missing credentials, and the fix.
"""
from __future__ import annotations

import argparse

from hwdetect.cli import cli, log
from hwdetect.remote import SELECTED, check, open_repo, talking_to


def pull(remote: str | None = None) -> dict:
    """Fetch and check out the selected pipeline's outputs; return DVC's counts and changed paths."""
    with open_repo() as repo:
        name, conf = check(repo, remote)
        with talking_to(repo, name, conf):
            return repo.pull(targets=SELECTED, with_deps=True, remote=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remote", help="DVC remote to pull from (default: the default remote)")
    stats = pull(parser.parse_args().remote)
    for mark, key in (("A", "added"), ("M", "modified"), ("D", "deleted")):
        for path in stats.get(key, []):
            log.info(f"{mark}       {path}")
    changed = sum(len(stats.get(key, [])) for key in ("added", "modified", "deleted"))
    log.info(f"pull: {stats.get('fetched', 0)} files fetched, {changed} outputs changed in the workspace")


if __name__ == "__main__":
    cli(main)

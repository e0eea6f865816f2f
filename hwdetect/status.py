"""`python -m hwdetect.status` (`make status`): which stages of the selected pipeline are out of date here.

It is `dvc status --with-deps dvc.yaml` (README: Why --with-deps dvc.yaml), with DVC's wording; `--remote` also
compares the local cache with the DVC remote (`dvc status --cloud`), after checking in seconds that it answers.
"""
from __future__ import annotations

import argparse
from typing import Any

from hwdetect.cli import UserError, cli
from hwdetect.remote import SELECTED, check, open_repo, quiet_dvc_logs, talking_to

UP_TO_DATE = "Data and pipelines are up to date."


def lines(status: Any, indent: int = 0) -> list[str]:
    """DVC's status listing, as `dvc status` prints it."""
    pad = "\t" * indent
    if isinstance(status, str):
        return [pad + status]
    if isinstance(status, list):
        return [line for entry in status for line in lines(entry, indent)]
    out = []
    for key, value in status.items():
        if isinstance(value, str):
            out.append(f"{pad}{value + ':':<20}{key}")
        elif value:
            out += [f"{pad}{key}:", *lines(value, indent + 1)]
    return out


def status(cloud: bool, remote: str | None) -> list[str]:
    from dvc.exceptions import DvcException

    with open_repo() as repo:
        if not cloud:
            try:
                with quiet_dvc_logs():
                    found = repo.status(targets=SELECTED, with_deps=True)
            except DvcException as err:
                raise UserError(f"dvc status: {str(err).strip().splitlines()[0]}") from None
            return lines(found) or [UP_TO_DATE]
        name, conf = check(repo, remote)
        with talking_to(repo, name, conf):
            found = repo.status(targets=SELECTED, with_deps=True, cloud=True, remote=name)
        return lines(found, 1) or [f"Cache and remote '{name}' are in sync."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remote", nargs="?", const="", metavar="NAME",
                        help="compare the cache with the remote too (default: the default remote)")
    args = parser.parse_args()
    print("\n".join(status(args.remote is not None, args.remote or None)))


if __name__ == "__main__":
    cli(main)

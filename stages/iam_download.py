"""Stage `iam_download`: fetch the IAM Handwriting Database archives and write data/iam/manifest.json.

Archives already in `iam.archives_dir` (complete, valid .tgz) are used as they are, with no network access; put
them there by hand if you prefer. The others are downloaded from `iam.base_url` after a login, resumed from
`<name>.part` when interrupted, and renamed to `<name>` only once they are complete, safe gzip/tar archives.
The manifest (size, sha256 and file count per archive) is the stage's output.

Credentials (register at https://fki.tic.heia-fr.ch/register) are read, in this order, from
  - the environment variables IAM_USERNAME (the registered e-mail) and IAM_PASSWORD, or
  - the file `.iam-credentials` at the project root (keep it git-ignored), with two lines:
        username=you@example.org
        password=your-password
They are only ever sent in the login form: never written to params, logs, error messages or the manifest.
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.files.atomic import write_json
from hwdetect.paths import shown
from hwdetect.sources.iam.download import credentials, download


def main() -> None:
    epilog = ("Reads params.yaml: iam.base_url, iam.archives, iam.archives_dir. Credentials: IAM_USERNAME and "
              "IAM_PASSWORD, or .iam-credentials (see the module docstring).")
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=epilog).parse_args()
    cfg = params.load()["iam"]
    dest_dir = paths.ROOT / cfg["archives_dir"]
    manifest = download(cfg["base_url"], cfg["archives"], dest_dir, *credentials())
    write_json(paths.IAM_MANIFEST, manifest)
    log.info(f"iam_download: {len(manifest['archives'])} archives in {shown(dest_dir)}, "
             f"manifest {shown(paths.IAM_MANIFEST)}")


if __name__ == "__main__":
    cli(main)

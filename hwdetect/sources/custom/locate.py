"""Where an export's image is, from the name the tool recorded for it: a path written on Windows or POSIX (an
absolute one from another machine is tried by its last folders), a URL of the tool's server, or a Label Studio
upload name (`1c8d6a8b-scan.jpg` for `scan.jpg`), tried in the folders the tool puts images in; never a file
outside the source folder."""
from __future__ import annotations

import os
import re
from pathlib import Path, PureWindowsPath

from hwdetect.cli import UserError
from hwdetect.files.walk import display
from hwdetect.sources.custom.labels import Label

LABEL_STUDIO_UPLOAD = re.compile(r"^[0-9a-f]{8}-")  # Label Studio keeps uploads as <8 hex digits>-<original name>


def candidate_names(file_name: str) -> list[str]:
    """Relative paths to try for a recorded name, most specific first."""
    parts = [p for p in file_name.replace("\\", "/").split("/") if p][1 if PureWindowsPath(file_name).drive else 0:]
    names = ["/".join(parts[i:]) for i in range(len(parts))]
    return names + ([LABEL_STUDIO_UPLOAD.sub("", parts[-1])] if parts and LABEL_STUDIO_UPLOAD.match(parts[-1]) else [])


def find_image(file_name: str, bases: list[Path], root: Path) -> Path | None:
    """The first of `bases` (folders) holding one of the candidate names, as a path under root; None if none does."""
    top = Path(os.path.abspath(root))  # no resolve(): DVC may link the files into its cache
    for base in bases:
        for name in candidate_names(file_name):
            candidate = Path(os.path.abspath(base / name))
            try:
                found = candidate.is_relative_to(top) and candidate.is_file()
            except OSError:  # a name too long for the file system, say: no such image
                found = False
            if found:
                return root / candidate.relative_to(top)
    return None


def refuse_mostly_missing(path: Path, labels: list[Label], bases: list[Path], fix: str) -> None:
    """Stop when more than half of a file's annotated image entries find no image: the export is in the wrong place,
    or was made without its images, rather than missing a few pages."""
    lost = [label for label in labels if not label.key]
    if lost and len(lost) * 2 > len(labels):
        raise UserError(f"{display(path)}: {len(lost)} of {len(labels)} image entries find no image file (e.g. "
                        f"{lost[0].where.split(': ', 1)[1]}, looked for in "
                        f"{', '.join(display(b) for b in dict.fromkeys(bases))}); {fix}")

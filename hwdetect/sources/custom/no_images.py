"""The refusal for a custom folder holding annotations but no images, naming the annotation files found and how the
tool that wrote them ships its images."""
from __future__ import annotations

from pathlib import Path

from hwdetect.cli import UserError
from hwdetect.files.walk import display
from hwdetect.sources.custom.formats import FORMATS, annotation_files

SUFFIXES = ".jpg, .png, .tif, .bmp, .webp"
CVAT = "CVAT: export again with 'Save images' ticked"
STUDIO = ("Label Studio: its {what} holds no images, so copy them into {images} from the folder it served them from "
          "(or from media/upload/ in its data folder, ~/.local/share/label-studio)")
FIXES = {"cvat": [CVAT], "label-studio": [STUDIO.format(what="JSON export", images="{images}")],
         "coco": [CVAT, STUDIO.format(what="COCO zip", images="{images}")],
         "yolo": [CVAT, STUDIO.format(what="YOLO zip", images="{images}"),
                  "labelImg: copy the images beside their labels"],
         "voc": ["labelImg: copy the images beside their .xml files"]}


def refuse_no_images(src_dir: Path, files: list[Path], skipped: list[str]) -> None:
    """Stop with one line: no images in src_dir; the annotation files found, and the fix of each tool that writes
    them."""
    links = "".join(f" (skipped: {item})" for item in skipped[:1])
    found = {fmt: annotation_files(files, fmt) for fmt in FORMATS}
    found = {fmt: paths for fmt, paths in found.items() if paths}
    if not found:
        raise UserError(f"{display(src_dir)}: no images ({SUFFIXES}) found{links}; put your annotated images there")
    paths = [path for group in found.values() for path in group]
    shown = ", ".join(display(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    images = display(src_dir / "images") + "/"
    fixes = dict.fromkeys(fix.format(images=images) for fmt in found for fix in FIXES[fmt])
    raise UserError(f"{display(src_dir)}: {len(paths)} annotation file{'s' if len(paths) > 1 else ''} "
                    f"({', '.join(found)}: {shown}) but no images ({SUFFIXES}){links}; {'; '.join(fixes)}")

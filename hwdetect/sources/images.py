"""Reading images as people see them: EXIF orientation, any bit depth or colour mode, 8-bit RGB out.

Shared by the `custom` stage (which writes the images and boxes in the displayed frame) and the `predict` tool.
A photo's pixels are stored in one frame and its EXIF Orientation tag (1-8) says how viewers turn them for
display; `displayed_box` maps a box drawn on the stored pixels into the displayed frame.
"""
from __future__ import annotations

import shutil
import struct
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
ORIENTATION_TAG = 0x0112
SWAPS_SIDES = (5, 6, 7, 8)  # orientations that turn the image by 90 degrees
# The most pixels a page may have: Pillow's own limit for images (~179 million, 537 MB as 8-bit RGB), for every page
# of a multi-page file and for PDF pages at the chosen resolution too (hwdetect/sources/pdf.py).
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS


class UnreadableImage(Exception):
    """The file is not an image Pillow can decode completely (the message says why)."""


def _pillow_open(file: BinaryIO) -> Image.Image:
    """Pillow's own Image.open: once imported, Ultralytics replaces it with one that, for a file Pillow cannot
    identify, tries to install the pi-heif package (and fails offline with ModuleNotFoundError)."""
    patches = sys.modules.get("ultralytics.utils.patches")
    return getattr(patches, "_image_open", Image.open)(file)


def page_count(img: Image.Image) -> int:
    """How many pages (frames) the file holds: a multi-page TIFF, an animated PNG or WebP. A phone's MPO JPEG
    counts as one: its extra frames are previews of the same photo."""
    return 1 if img.format == "MPO" else getattr(img, "n_frames", 1)


def open_image(path: Path) -> tuple[Image.Image, int]:
    """The fully decoded image as stored (its first page), and its EXIF orientation (1 when absent or invalid).

    The file is read through an open file object, so any file name works, whatever bytes it holds."""
    try:
        with path.open("rb") as file:
            img = _pillow_open(file)
            if page_count(img) > 1:  # counting the pages of a TIFF moves through them: back to the first
                img.seek(0)
            img.load()  # decodes every pixel: a truncated or corrupt file fails here, not later in training
    except (UnidentifiedImageError, ImportError):
        raise UnreadableImage("not an image file Pillow can read") from None
    except Image.DecompressionBombError as err:
        raise UnreadableImage(f"too large for Pillow's safety limit ({err})") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as err:  # Pillow: unknown, truncated, broken
        raise UnreadableImage(str(err).split("\n")[0] or type(err).__name__) from None
    try:
        orientation = int(img.getexif().get(ORIENTATION_TAG, 1))
    except (OSError, ValueError, TypeError, SyntaxError):  # a broken EXIF block: the pixels are still fine
        orientation = 1
    return img, orientation if 1 <= orientation <= 8 else 1


def displayed_size(stored: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (stored[1], stored[0]) if orientation in SWAPS_SIDES else stored


def _displayed_point(x: float, y: float, orientation: int, w: int, h: int) -> tuple[float, float]:
    """A point of a stored image of w x h pixels, in the displayed frame (what Pillow's exif_transpose does)."""
    return {1: (x, y), 2: (w - x, y), 3: (w - x, h - y), 4: (x, h - y),
            5: (y, x), 6: (h - y, x), 7: (h - y, w - x), 8: (y, w - x)}[orientation]


def displayed_box(box: tuple[float, float, float, float], orientation: int, stored: tuple[int, int]
                  ) -> tuple[float, float, float, float]:
    """A box (x0, y0, x1, y1 in pixels) drawn on the stored pixels, moved to the displayed frame."""
    (ax, ay), (bx, by) = (_displayed_point(x, y, orientation, *stored) for x, y in (box[:2], box[2:]))
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def write_displayed(img: Image.Image, orientation: int, src: Path, dst: Path) -> None:
    """Copy the file byte for byte when it needs no turning; else save it turned, without the orientation tag."""
    if orientation == 1:
        shutil.copyfile(src, dst)
        return
    turned = ImageOps.exif_transpose(img)
    fmt = "JPEG" if img.format in ("JPEG", "MPO") else img.format  # phones write MPO: a JPEG with extra frames
    extra = {"quality": 95} if fmt == "JPEG" else {}
    if turned.info.get("icc_profile"):
        extra["icc_profile"] = turned.info["icc_profile"]
    turned.save(dst, format=fmt, exif=turned.getexif(), **extra)


def to_rgb8(img: Image.Image) -> np.ndarray:
    """H x W x 3 uint8 RGB: 16-bit and float grey scaled down, transparency flattened onto white paper."""
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        a = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        if img.mode == "F" and a.max() <= 1.0:
            top = 1.0
        grey = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(paper, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


class ImagePages:
    """The pages of an image file (one for most files; each page of a multi-page TIFF, animated PNG or WebP) as 8-bit
    RGB, decoded one at a time: a 1,000-page fax holds one page in memory, not 1,000. The file is opened once and
    read forward, so page 951 costs what page 1 does. Only the first page is turned by the EXIF orientation."""

    def __init__(self, path: Path):
        img, self.orientation = open_image(path)  # the file and its first page are readable, or UnreadableImage
        self.path, self.count = path, page_count(img)
        self._file: BinaryIO | None = None
        self._img: Image.Image | None = None

    def __len__(self) -> int:
        return self.count

    def __enter__(self) -> "ImagePages":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._img = None

    def page(self, index: int) -> np.ndarray:
        """Page `index` (from 0); UnreadableImage names the page and why it cannot be read."""
        try:
            if self._img is None:
                self._file = self.path.open("rb")
                self._img = _pillow_open(self._file)
            self._img.seek(index)
            if self._img.width * self._img.height > MAX_PIXELS:  # Pillow checks the first page only
                raise UnreadableImage(f"page {index + 1}: {self._img.width} x {self._img.height} pixels, over the "
                                      f"limit of {MAX_PIXELS:,}; save the page smaller")
            self._img.load()
            img = ImageOps.exif_transpose(self._img) if index == 0 and self.orientation != 1 else self._img
            return to_rgb8(img)
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as err:
            self.close()  # a broken page can leave the decoder mid-file: the next page starts afresh
            raise UnreadableImage(f"page {index + 1}: {str(err).split(chr(10))[0] or type(err).__name__}") from None

    def __getitem__(self, index: int) -> np.ndarray:
        return self.page(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        with self:
            for index in range(self.count):
                yield self.page(index)


def read_pages_rgb(path: Path) -> tuple[ImagePages, int]:
    """The pages of an image file, read one at a time as they are used, and the EXIF orientation of the first."""
    pages = ImagePages(path)
    return pages, pages.orientation


def read_displayed_rgb(path: Path) -> tuple[np.ndarray, int]:
    """The image as viewers show it, as 8-bit RGB, and the EXIF orientation that was applied."""
    img, orientation = open_image(path)
    if orientation != 1:
        img = ImageOps.exif_transpose(img)
    return to_rgb8(img), orientation

"""Scanner and paper artefacts for a grey page, with the handwriting and print boxes carried through the geometry."""
from __future__ import annotations

import cv2
import numpy as np

FRAMING = (0.8, 1.2)  # zoom range of the scan: < 1 the sheet sits in a wider frame, > 1 its edges are cut off
MIN_VISIBLE_INK = 20  # ink pixels of a line that must stay in the frame for it to be labelled
MIN_VISIBLE_PRINT = 0.5  # share of a print box that must stay in the frame for it to be labelled
PHOTO = 0.12  # share of pages photographed with a phone rather than scanned
CLOSE_UP, CLOSE_UP_ZOOM = 0.15, (1.4, 2.6)  # share of pages shown as a close-up of one part, and its zoom
BITONAL = 0.2  # share of flatbed scans made in black and white (fax, archive and office scanners)
BITONAL_KEEP = 0.6  # share of a line's ink points that must stay black for its page to be scanned in black and white


def bleed_through(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Faint mirrored ink of the other side of the sheet."""
    back = cv2.GaussianBlur(img[:, ::-1], (0, 0), rng.uniform(1.0, 2.5)).astype(np.float32)
    strength = rng.uniform(0.05, 0.18)
    paper = float(np.median(img))
    return img.astype(np.float32) - strength * np.clip(paper - back, 0, None)


def lighting(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Additive light field: a tilted gradient, sometimes a soft shadow band along one edge."""
    h, w = shape
    xx, yy = np.arange(w, dtype=np.float32)[None, :] / w, np.arange(h, dtype=np.float32)[:, None] / h
    field = rng.uniform(-25, 5) * xx + rng.uniform(-25, 5) * yy
    if rng.random() < 0.3:
        width = rng.uniform(0.03, 0.15)
        side = int(rng.integers(4))
        d = [xx, 1 - xx, yy, 1 - yy][side]
        field = field - rng.uniform(30, 90) * np.exp(-d / width)
    return field


def photocopy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A worn photocopy of the printed page: harder contrast, print thickened or broken up, toner specks, a streak."""
    paper = float(np.median(img))
    out = paper - (paper - img.astype(np.float32)) * rng.uniform(1.1, 1.8)
    kernel = np.ones((2, 2), np.uint8)
    out = cv2.erode(out, kernel) if rng.random() < 0.5 else cv2.dilate(out, kernel) if rng.random() < 0.3 else out
    h, w = img.shape
    n = int(h * w * rng.uniform(1e-4, 1.5e-3))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    out[ys, xs] = rng.uniform(0, 120, n)
    if rng.random() < 0.4:
        x = int(rng.integers(0, w))
        out[:, x:x + int(rng.integers(2, max(3, w // 30)))] -= rng.uniform(15, 60)
    return np.clip(out, 0, 255).astype(np.uint8)


def black_and_white(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page through a bitonal scanner: one threshold around Otsu's, every pixel black or white; now and then
    saved again as a JPEG (a web copy of such a scan)."""
    otsu, _ = cv2.threshold(page, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    page = np.where(page > otsu * rng.uniform(0.85, 1.1), 255, 0).astype(np.uint8)
    if rng.random() < 0.3:
        page = cv2.imdecode(cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 95))])[1],
                            cv2.IMREAD_GRAYSCALE)
    return page


def _framing(w: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """The page-to-image homography: a flatbed scan (zoom, small rotation and skew), or now and then a phone photo
    (perspective, the page on a darker background)."""
    zoom = float(np.exp(rng.uniform(np.log(FRAMING[0]), np.log(FRAMING[1]))))
    centre = (w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6))
    if rng.random() < CLOSE_UP:  # part of the sheet, large: print as big as handwriting usually is
        zoom = float(rng.uniform(*CLOSE_UP_ZOOM))
        centre = (w * rng.uniform(0.2, 0.8), h * rng.uniform(0.2, 0.8))
    m = cv2.getRotationMatrix2D(centre, rng.uniform(-1.5, 1.5), zoom)
    m[0, 1] += rng.uniform(-0.015, 0.015)  # skew
    homography = np.vstack([m, (0, 0, 1)])
    photo = rng.random() < PHOTO
    if photo:
        corners = np.float32([(0, 0), (w, 0), (w, h), (0, h)])
        moved = corners * rng.uniform(0.82, 0.95) + np.float32((w, h)) * rng.uniform(0.02, 0.08, 2)
        moved += rng.normal(0, 0.025, (4, 2)).astype(np.float32) * np.float32((w, h))
        homography = cv2.getPerspectiveTransform(corners, moved.astype(np.float32)) @ homography
    return homography, photo


def _kept(page: np.ndarray, points: np.ndarray) -> bool:
    """Whether most of a line's ink points are still dark on the page."""
    xs, ys = points[:, 0].astype(int), points[:, 1].astype(int)
    return bool((page[ys, xs] < 128).mean() >= BITONAL_KEEP)


def _print_boxes(printed: list, homography: np.ndarray, w: int, h: int) -> list:
    """The print boxes through the page's geometry (the box around each moved box), clipped to the frame; a box
    mostly outside it is dropped."""
    boxes = []
    for x0, y0, x1, y1 in printed:
        pts = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64).reshape(-1, 1, 2)
        r = cv2.perspectiveTransform(pts, homography).reshape(-1, 2)
        (a0, b0), (a1, b1) = r.min(0), r.max(0)
        c0, d0, c1, d1 = max(a0, 0), max(b0, 0), min(a1, w), min(b1, h)
        if c1 - c0 > 2 and d1 - d0 > 2 and (c1 - c0) * (d1 - d0) >= MIN_VISIBLE_PRINT * (a1 - a0) * (b1 - b0):
            boxes.append((float(c0), float(d0), float(c1), float(d1)))
    return boxes


def scan(img: np.ndarray, rng: np.random.Generator, inks: list[np.ndarray], pad: float,
         printed: list = ()) -> tuple[np.ndarray, list, list]:
    """Return the scanned page, one box (x0, y0, x1, y1) per ink point set and the print boxes, after the same framing,
    rotation and skew (or perspective). Framing zooms the sheet in or out (pages scanned with wide margins, or
    cropped): a line cut by the frame keeps the box of its visible ink."""
    h, w = img.shape
    paper = float(np.median(img))
    out = bleed_through(img, rng) if rng.random() < 0.3 else img.astype(np.float32)
    homography, photo = _framing(w, h, rng)
    border = float(rng.uniform(20, 140)) if photo else paper
    out = cv2.warpPerspective(out, homography, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=border)
    out += lighting((h, w), rng)
    edge = int(rng.integers(0, w // 40 + 1)) if rng.random() < 0.6 else 0
    out[:, :edge] = out[:, :edge] * rng.uniform(0.1, 0.5)  # dark scanner edge
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.1))
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(1, 7))
    page = np.clip(out, 0, 255).astype(np.uint8)
    shown = []
    for pts in inks:
        r = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)
        shown.append(r[(r[:, 0] >= 0) & (r[:, 0] < w) & (r[:, 1] >= 0) & (r[:, 1] < h)])
    bitonal = black_and_white(page, rng) if not photo and rng.random() < BITONAL else None
    if bitonal is not None and all(_kept(bitonal, r) for r in shown if len(r) >= MIN_VISIBLE_INK):
        page = bitonal  # else the threshold loses a line (light pencil): the page stays grey
    else:
        quality = int(rng.integers(40, 95))
        page = cv2.imdecode(cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_GRAYSCALE)
    boxes = []
    for r in shown:
        if len(r) < MIN_VISIBLE_INK:
            continue
        x0, y0 = np.maximum(r.min(0) - pad, 0)
        x1, y1 = np.minimum(r.max(0) + 1 + pad, (w, h))
        if x1 - x0 > 2 and y1 - y0 > 2:
            boxes.append((float(x0), float(y0), float(x1), float(y1)))
    return page, boxes, _print_boxes(printed, homography, w, h)

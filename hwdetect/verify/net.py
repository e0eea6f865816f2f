"""The verifier's network and its file: models/detector/verifier.pt holds the weights, the crop size, the
threshold, whether box edges are snapped to the ink, whether boxes are split where they run over print and the
settings of the close look (torch.save of plain tensors and numbers, loaded with weights_only=True)."""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hwdetect.cli import UserError
from hwdetect.evaluation.metrics import areas, intersections
from hwdetect.files.atomic import write_atomic
from hwdetect.paths import ROOT, shown
from hwdetect.verify.close import DEFAULTS as CLOSE_OFF
from hwdetect.verify.crops import CROP_HEIGHT, CROP_WIDTH, batch
from hwdetect.verify.edges import snap_to_ink
from hwdetect.verify.pieces import drop_print

FORMAT = "hwdetect-verifier/1"
CHUNK = 256  # crops per forward pass
SURE, RAISE = 0.97, 0.5  # a box the verifier is this sure holds handwriting gets its score raised to the power RAISE
LINE_SCORE, ALONE = 0.25, 0.2  # ... unless this share of it lies under a box scored higher and at least LINE_SCORE


class VerifierNet(nn.Module):
    """Four 3x3 conv blocks (16-32-64-96 channels, three 2x2 poolings) on a 1 x 24 x 192 crop, global mean and max
    pooling, one logit: handwriting against print."""

    def __init__(self) -> None:
        super().__init__()
        layers, channels = [], 1
        for i, width in enumerate((16, 32, 64, 96)):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            layers += [nn.MaxPool2d(2)] if i < 3 else []
            channels = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.head(torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)).squeeze(1)


class Verifier:
    """A trained verifier: `keep(gray, boxes)` says which detected boxes hold handwriting, `rescore` gives the scores
    the commands use and `second_look` the boxes and scores (edges snapped to the ink when `snap`, boxes over print
    and handwriting split when `split`); `close` says how the commands take the close look (close.py)."""

    def __init__(self, net: VerifierNet, threshold: float, snap: bool, split: bool = False,
                 close: dict | None = None) -> None:
        self.net, self.threshold, self.snap, self.split = net.eval(), threshold, snap, split
        self.close = {**CLOSE_OFF, **(close or {})}

    @torch.no_grad()
    def probabilities(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Handwriting probability of each box (xyxy pixels of the grey image); 0 for a box with no pixels in it."""
        crops, has = batch(gray, np.asarray(boxes, np.float64).reshape(-1, 4))
        p = np.zeros(len(has), np.float32)
        if len(crops):
            x = torch.from_numpy(crops)
            p[has] = torch.cat([torch.sigmoid(self.net(x[i:i + CHUNK])) for i in range(0, len(x), CHUNK)]).numpy()
        return p

    def keep(self, gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return self.probabilities(gray, boxes) >= self.threshold

    def rescore(self, gray: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                looked_at: np.ndarray | None = None) -> np.ndarray:
        """The boxes' scores after the second look: a box the verifier doubts (handwriting probability below its
        threshold) gets its score times that probability, so a threshold of 0.25 drops it unless the detector was
        sure; the others keep the detector's score. Doubted boxes are ranked down rather than deleted, so mAP still
        sees them and a lower --conf can get them back. A box the verifier is sure of (SURE) gets score ** RAISE
        (0.0625 becomes 0.25: a signature or an initial the detector barely saw), unless it lies under a line the
        detector found (it would be a part of that line, or two lines' worth). The verifier looks at `looked_at`
        (the same boxes moved, e.g. onto their ink; default: `boxes` themselves)."""
        return self.judged(self.probabilities(gray, boxes if looked_at is None else looked_at), boxes, scores)

    def judged(self, p: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`rescore` given the handwriting probabilities `p` the verifier gave the boxes."""
        sure = (p >= SURE) & ~under_a_line(np.asarray(boxes, np.float64).reshape(-1, 4), scores)
        return np.where(sure, scores ** RAISE, np.where(p >= self.threshold, scores, scores * p)).astype(np.float32)

    @staticmethod
    def detector_conf(conf: float) -> float:
        """The detector threshold that finds every box the second look could raise to `conf`."""
        return conf ** (1 / RAISE)

    def second_look(self, gray: np.ndarray, boxes: np.ndarray,
                    scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The detector's boxes (xyxy pixels of the grey image) and scores after the second look, and for each box
        the index of the detected box it comes from: with `snap`, edges put on their lines' ink
        (edges.snap_to_ink); with `split`, a box that runs over a printed label and the entry written after it cut
        into its handwriting (pieces.drop_print); then rescored by what the verifier sees in the boxes as they now
        are, as its training crops are the extent of a line's ink: a detected box that cuts off a signature's loops
        or a short last word is judged on all of its ink (README: the verifier judges the box on its ink)."""
        boxes = np.asarray(boxes)
        snapped = snap_to_ink(gray, boxes) if self.snap else boxes
        p = self.probabilities(gray, snapped)
        if not self.split:
            return snapped, self.judged(p, boxes, scores), np.arange(len(boxes))
        out, source, cut = drop_print(gray, snapped, p >= self.threshold, self.probabilities)
        p = p[source]
        if cut.any():  # only the cuts are new to the verifier
            p[cut] = self.probabilities(gray, out[cut])
        one = np.bincount(source, minlength=len(boxes))[source] == 1  # one box out: under_a_line sees it as detected
        detected = np.where(one[:, None], boxes.astype(np.float64).reshape(-1, 4)[source], out)
        return out, self.judged(p, detected, np.asarray(scores)[source]), source


def under_a_line(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Which boxes have ALONE of their area or more under one box scored higher than them and at least LINE_SCORE."""
    share = intersections(boxes, boxes) / np.maximum(areas(boxes), 1e-9)[:, None]  # [i, j]: share of i under j
    over = (scores[None, :] > scores[:, None]) & (scores[None, :] >= LINE_SCORE)
    return (over & (share >= ALONE)).any(1)


def save(path: Path, net: VerifierNet, threshold: float, snap: bool, split: bool, close: dict | None = None) -> None:
    close = close or CLOSE_OFF
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "crop": [CROP_HEIGHT, CROP_WIDTH], "threshold": threshold, "snap": snap,
                "split": split, "close": {k: close[k] for k in CLOSE_OFF}, "state_dict": net.state_dict()}, buffer)
    write_atomic(path, buffer.getvalue())


def load(path: Path, flag: str = "--verifier") -> Verifier:
    """The verifier in `path`, or UserError naming the file and what is wrong with it."""
    where = f"{flag} {shown(path)}".strip()
    fix = "run `dvc repro verifier` to build models/detector/verifier.pt, or pass --no-verifier"
    if not path.is_file():
        raise UserError(f"{where}: not found; {fix}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (pickle, zip and torch each raise their own types for a bad file)
        raise UserError(f"{where}: cannot be read as a verifier ({type(err).__name__}); {fix}") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise UserError(f"{where}: not a verifier file of this project (format {FORMAT}); {fix}")
    if saved.get("crop") != [CROP_HEIGHT, CROP_WIDTH]:
        raise UserError(f"{where}: made for {saved.get('crop')} crops, this code cuts {[CROP_HEIGHT, CROP_WIDTH]}; "
                        f"{fix}")
    net = VerifierNet()
    try:
        net.load_state_dict(saved["state_dict"])
    except (RuntimeError, KeyError, TypeError) as err:
        raise UserError(f"{where}: its weights do not fit the network ({str(err).splitlines()[0][:120]}); "
                        f"{fix}") from None
    close = saved.get("close", CLOSE_OFF)  # files from before snapping, splitting or the close look: off
    if not isinstance(close, dict) or set(close) != set(CLOSE_OFF):
        raise UserError(f"{where}: its close-look settings are not {sorted(CLOSE_OFF)}; {fix}")
    return Verifier(net, float(saved["threshold"]), bool(saved.get("snap", False)), bool(saved.get("split", False)),
                    {"zoom": int(close["zoom"]), "max_height": float(close["max_height"]),
                     "margin": float(close["margin"])})



@functools.lru_cache(maxsize=4)
def loaded(shown_path: str) -> Verifier:
    """The verifier a command's settings name (as paths.shown gives it), loaded once per process."""
    return load(ROOT / shown_path)

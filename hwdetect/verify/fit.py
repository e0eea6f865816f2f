"""Train the verifier on crops of synthetic pages rendered at several widths (web copies to scans): the generator's
handwriting boxes against its print boxes and short printed items (printed.py), scored on held-out pages' boxes."""
from __future__ import annotations

import dataclasses
import os
from functools import partial
from multiprocessing import Pool

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hwdetect.synth.pages import PageSpec, render_page
from hwdetect.verify.crops import normalise
from hwdetect.verify.net import VerifierNet
from hwdetect.verify.pieces import pieces
from hwdetect.verify.printed import printed_crops

PART_OF_PRINT = 0.4  # share of long print boxes cut to a part of the line, as a detector boxes part of one
PIECE = 0.5  # share of boxes that also give one of their pieces between wide gaps, as the second look cuts them


def page_crops(seed: int, index: int, spec: PageSpec, width: int,
               items: int = 0) -> tuple[list[np.ndarray], list[int]]:
    """Training crops of synthetic page `index` rendered `width` pixels wide: its handwriting boxes (label 1) and
    print boxes (label 0, long lines sometimes cut to a part), then `items` short printed items (label 0)."""
    img, handwriting, printed = render_page(seed, index, dataclasses.replace(spec, width=width))
    rng = np.random.default_rng([seed, index, width])
    crops, labels = [], []
    for label, boxes in ((1, handwriting), (0, printed)):
        for x0, y0, x1, y1 in boxes:
            if label == 0 and x1 - x0 > 4 * (y1 - y0) and rng.random() < PART_OF_PRINT:
                start = rng.uniform(0, 0.5)
                end = rng.uniform(start + 0.3, 1.0)
                x0, x1 = x0 + start * (x1 - x0), x0 + end * (x1 - x0)
            crop = normalise(img, (x0, y0, x1, y1), rng)
            if crop is not None:
                crops.append(crop)
                labels.append(label)
            parts = pieces(img, (x0, y0, x1, y1)) if rng.random() < PIECE else ()
            if len(parts) > 1:  # one of the pieces the second look may judge alone (pieces.py)
                crop = normalise(img, parts[rng.integers(len(parts))], rng)
                if crop is not None:
                    crops.append(crop)
                    labels.append(label)
    extra = printed_crops(seed, index, list(spec.print_fonts), width, items) if items else []
    return crops + extra, labels + [0] * len(extra)


def _crops_of(index: int, seed: int, spec: PageSpec, widths: tuple[int, ...], items: int):
    return page_crops(seed, index, spec, widths[index % len(widths)], items)


def crop_set(seed: int, first: int, pages: int, spec: PageSpec, widths: tuple[int, ...], workers: int,
             desc: str, items: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops (N x 1 x H x W) and labels (1 handwriting, 0 print) of pages first .. first+pages-1, page i rendered
    widths[i % len(widths)] pixels wide, each with `items` short printed items."""
    job = partial(_crops_of, seed=seed, spec=spec, widths=widths, items=items)
    with Pool(min(workers or os.cpu_count() or 1, pages)) as pool:
        results = list(tqdm(pool.imap(job, range(first, first + pages), chunksize=4), total=pages, desc=desc,
                            unit="page"))
    crops = [c for page, _ in results for c in page]
    labels = [y for _, page in results for y in page]
    x = torch.from_numpy(np.stack(crops)[:, None]).contiguous(memory_format=torch.channels_last)  # 1.5x faster
    return x, torch.tensor(labels, dtype=torch.float32)


def scores(net: VerifierNet, x: torch.Tensor, y: torch.Tensor, threshold: float) -> dict:
    net.eval()
    with torch.no_grad():
        p = torch.cat([torch.sigmoid(net(x[i:i + 512])) for i in range(0, len(x), 512)])
    hw, kept = y == 1, p >= threshold
    return {"crops": len(y), "handwriting_crops": int(hw.sum()), "accuracy": float((kept == hw).float().mean()),
            "handwriting_kept": float(kept[hw].float().mean()), "print_rejected": float((~kept[~hw]).float().mean())}


def fit(seed: int, spec: PageSpec, s: dict, workers: int = 0) -> tuple[VerifierNet, dict, torch.Tensor]:
    """Train on s["pages"] pages (with s["printed_items"] short printed items each) and score on the boxes of
    s["val_pages"] further ones (s: params.yaml's `verifier`); the network, its figures and the held-out crops."""
    widths = tuple(s["widths"])
    x, y = crop_set(seed, 0, s["pages"], spec, widths, workers, "verifier crops", s["printed_items"])
    xv, yv = crop_set(seed, s["pages"], s["val_pages"], spec, widths, workers, "verifier held-out crops")
    torch.manual_seed(seed)
    net = VerifierNet().to(memory_format=torch.channels_last)
    steps = s["epochs"] * -(-len(x) // s["batch"])
    opt = torch.optim.AdamW(net.parameters(), s["lr"], weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, s["lr"], total_steps=steps)
    order = torch.Generator().manual_seed(seed)
    with tqdm(total=steps, desc="verifier training", unit="batch") as bar:
        for epoch in range(s["epochs"]):
            net.train()
            for idx in torch.randperm(len(x), generator=order).split(s["batch"]):
                loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                schedule.step()
                bar.update()
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    metrics = {"train_crops": len(y), **{f"val_{k}": v for k, v in scores(net, xv, yv, s["threshold"]).items()}}
    return net, metrics, xv

"""Can this machine train a profile? Versions, each GPU, AMP, pretrained weights, which profiles fit, what to fix.

`python -m hwdetect.doctor` checks the profile params.yaml selects (`--profile` another; `--fetch` downloads its
pretrained weights now, so that training runs offline). It exits 0 when the profile can train here, else prints
the report and ends with one line saying what to fix (exit code 2).
"""
from __future__ import annotations

import platform
import re

from hwdetect.cli import ArgumentParser, UserError, cli
from hwdetect.config import params
from hwdetect.config.checks import gpu_indices
from hwdetect.paths import shown
from hwdetect.training import runtime

# Peak GPU memory torch reserved while training the shipped GPU profiles (GiB; bench.gpu on an H100, README), and
# what the CUDA context and cuDNN add on top (nvidia-smi showed 0.94 GiB in all for rtx3050). The training guide's
# figures (~4.5 and ~5.5 GB) are far above both. `python -m bench.gpu --profile NAME` measures any profile.
PROFILE_MEMORY_GIB = {"rtx3050": 0.25, "production": 0.66}
CONTEXT_GIB = 0.7
# GPUs on which float16 AMP is known to give NaN losses (the list Ultralytics' own AMP check uses).
AMP_TROUBLE = re.compile(r"(nvidia|geforce|quadro|tesla).*?(1660|1650|1630|t400|t550|t600|t1000|t1200|t2000|k40m)",
                         re.IGNORECASE)
CUDA_INDEX = "https://download.pytorch.org/whl/cu130"  # the CUDA variant of the pinned torch for Windows


def gpus() -> list[dict]:
    import torch

    found = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        found.append({"index": index, "name": props.name, "gib": props.total_memory / 2**30,
                      "capability": f"{props.major}.{props.minor}", "amp": amp_problem(index, props.name)})
    return found


def amp_problem(index: int, name: str) -> str | None:
    """None when float16 autocast gives the same YOLOv8n outputs as float32 on this GPU, else why not."""
    import torch
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load

    if AMP_TROUBLE.search(name):
        return f"{name} is known to give NaN losses with AMP; set amp: false in the profile"
    torch.manual_seed(0)
    config = {**yaml_model_load("yolov8n.yaml"), "nc": 1}
    model = DetectionModel(config, verbose=False).to(f"cuda:{index}").eval()
    image = torch.rand(1, 3, 256, 256, device=f"cuda:{index}")
    with torch.no_grad():
        full = model(image)[0].float()
        with torch.autocast("cuda", dtype=torch.float16):
            half = model(image)[0].float()
    if not torch.isfinite(half).all():
        return "float16 autocast gives NaN or inf outputs; set amp: false in the profile"
    difference = ((full - half).abs().max() / full.abs().max().clamp(min=1e-6)).item()
    return None if difference < 0.02 else f"float16 autocast outputs differ by {difference:.1%}; set amp: false"


def need_gib(name: str) -> float | None:
    """GPU memory a profile takes in all (training and the CUDA context); None where it was never measured."""
    return PROFILE_MEMORY_GIB[name] + CONTEXT_GIB if name in PROFILE_MEMORY_GIB else None


def fits(name: str, card_gib: float) -> str:
    need = need_gib(name)
    if need is None:
        return "memory not measured (python -m bench.gpu --profile NAME measures it)"
    return f"{'fits' if need <= card_gib else 'does not fit'} (needs ~{need:.1f} GiB)"


def weights_status(p: dict, name: str, fetch: bool) -> str | None:
    """A line about the profile's pretrained weights (None for a profile that trains from scratch, unless fetching)."""
    from hwdetect.training.weights import ensure_weights, weights_path

    prof = p["profiles"][name]
    if not prof["model"].endswith(".pt"):
        return f"none needed: profile {name} trains {prof['model']} from scratch" if fetch else None
    path = weights_path(prof["model"], p["train"]["pretrained_dir"])
    if not (fetch or path.is_file()):
        return (f"{shown(path)}: missing; the first training fetches it from train.weights_url, or now: "
                f"python -m hwdetect.doctor --profile {name} --fetch")
    # Fetches a missing file; refuses, in one line, one whose sha256 does not match.
    ensure_weights(prof["model"], prof["sha256"], p["train"]["pretrained_dir"], p["train"]["weights_url"], name)
    return f"{shown(path)}: present, sha256 matches profiles.{name}.sha256"


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", help="profile to check (default: train.profile in params.yaml)")
    parser.add_argument("--fetch", action="store_true", help="download the profile's pretrained weights now")
    args = parser.parse_args()
    p = params.load()
    name = p["train"]["profile"] if args.profile is None else args.profile  # an empty --profile "" is a mistake too
    if name not in p["profiles"]:
        raise UserError(f"--profile {name or repr(name)}: not in params.yaml; choose one of: "
                        f"{', '.join(p['profiles'])}")
    prof = p["profiles"][name]
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    import torch
    import ultralytics

    print(f"python       {platform.python_version()} ({platform.system()} {platform.machine()})")
    print(f"torch        {torch.__version__}, "
          + (f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"))
    print(f"ultralytics  {ultralytics.__version__}")
    cards = gpus() if torch.cuda.is_available() else []
    for card in cards:
        amp = "AMP works" if card["amp"] is None else f"AMP problem: {card['amp']}"
        print(f"GPU {card['index']}        {card['name']}, {card['gib']:.1f} GiB, compute {card['capability']}, {amp}")
        print("             " + "; ".join(f"{n} {fits(n, card['gib'])}" for n, pr in p["profiles"].items()
                                          if gpu_indices(pr["device"])))
    if not cards:
        print("GPU          none visible to torch")
    if (status := weights_status(p, name, args.fetch)) is not None:
        print(f"weights      {status}")

    problem = profile_problem(name, prof, cards, torch.version.cuda)
    if problem:
        raise UserError(f"profile {name} cannot train here: {problem}")
    print(f"ready        profile {name} can train here (dvc exp run -S train.profile={name})")


def profile_problem(name: str, prof: dict, cards: list[dict], cuda_build: str | None) -> str | None:
    """What stops the profile on this machine, with the fix; None when nothing does."""
    gpus = gpu_indices(prof["device"])
    if not gpus:
        return None
    if cuda_build is None:
        return (f"torch is a CPU-only build; install a CUDA build (Linux: pip install torch==2.14.1 "
                f"torchvision==0.29.1 from PyPI; Windows: add --index-url {CUDA_INDEX}), or use the cpu profile")
    if not cards:
        return (f"torch (CUDA {cuda_build}) sees no GPU; check that nvidia-smi lists one and that the driver "
                f"supports CUDA {cuda_build}, or use the cpu profile")
    if max(gpus) >= len(cards):
        return f"profiles.{name}.device is {prof['device']!r} but this machine has {len(cards)} GPU(s); set device: 0"
    card = min((cards[i] for i in gpus), key=lambda c: c["gib"])  # the smallest card limits every DDP process
    if prof.get("amp") and card["amp"]:
        return card["amp"].replace("the profile", f"profiles.{name}")
    need = need_gib(name)
    if need is not None and need > card["gib"]:
        return (f"it needs ~{need:.1f} GiB and {card['name']} has {card['gib']:.1f} GiB; use a smaller profile or "
                f"the low-memory recipe (README: Training on a GPU)")
    return None


if __name__ == "__main__":
    cli(main)

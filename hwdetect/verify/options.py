"""Which verifier a command uses (no torch here: commands import this before hwdetect.training.runtime.setup())."""
from __future__ import annotations

from pathlib import Path

from hwdetect.paths import VERIFIER


def verifier_path(model: Path, asked: Path | None, disabled: bool) -> Path | None:
    """Which verifier checks `model`'s boxes: --verifier when given, else verifier.pt beside the model (where the
    pipeline writes it); None with --no-verifier or when there is none."""
    if disabled:
        return None
    if asked is not None:
        return asked
    beside = model.with_name(VERIFIER.name)
    return beside if beside.is_file() else None


def add_arguments(parser) -> None:
    """--verifier and --no-verifier, as evaluate, predict and pre-annotation take them."""
    parser.add_argument("--verifier", type=Path, help="the verifier that checks each box (default: verifier.pt "
                        "beside --model, if there)")
    parser.add_argument("--no-verifier", action="store_true", help="keep every box the detector finds")

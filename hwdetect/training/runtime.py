"""Offline, reproducible setup for torch and Ultralytics. Call `setup()` before importing either of them.

- Ultralytics settings live in a git-ignored project folder (`.ultralytics/`), not in the user's home, so runs do
  not depend on a global `datasets_dir`; YOLO_OFFLINE and YOLO_AUTOINSTALL=False stop network probes and pip installs.
- Ultralytics sets OMP_NUM_THREADS=1 on import and trains with cores-1 threads; the pipeline uses every core.
- oneDNN picks kernels by the CPU's instruction set, which changes the numbers; pinning AVX2 (which nearly every
  x86-64 CPU of the last decade has) narrows what differs between machines (oneDNN still sizes kernels to the CPU,
  so two CPU models can differ in the last bits). On CPUs with AVX-512 the pin can cost speed (from nothing to about
  1.4x per training step), so params.yaml train.cpu_isa can lift it.
Each variable keeps a value the user set in the environment.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hwdetect.config.registry import CPU_ISAS
from hwdetect.paths import ULTRALYTICS_CONFIG

ENVIRONMENT = {
    "YOLO_CONFIG_DIR": str(ULTRALYTICS_CONFIG),
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "False",
    "YOLO_VERBOSE": "True",
    "OMP_NUM_THREADS": str(os.cpu_count() or 1),
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def configure_environment(cpu_isa: str = "AVX2") -> None:
    """Set the variables torch and Ultralytics read when imported."""
    if "torch" in sys.modules and "ONEDNN_MAX_CPU_ISA" not in os.environ:
        raise RuntimeError("torch was imported before hwdetect.training.runtime.setup(); its CPU pins cannot apply")
    for key, value in {**ENVIRONMENT, "ONEDNN_MAX_CPU_ISA": CPU_ISAS[cpu_isa]}.items():
        os.environ.setdefault(key, value)


def cpu_isa_in_use() -> str:
    """The oneDNN instruction set in use: a train.cpu_isa name, or the value the user set in ONEDNN_MAX_CPU_ISA."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL")
    return next((name for name, value in CPU_ISAS.items() if value == isa), isa)


def _install_font() -> None:
    """Ultralytics wants Arial.ttf for plot labels and downloads it when missing; give it DejaVu Sans instead."""
    target = Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf"
    if not target.exists():
        import matplotlib

        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", target)


def setup(threads: int = 0, cpu_isa: str = "AVX2") -> int:
    """Configure torch and Ultralytics for this process; return the torch thread count in use."""
    configure_environment(cpu_isa)
    _install_font()
    import torch
    from ultralytics.utils import SETTINGS, torch_utils

    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch_utils.NUM_THREADS = threads  # select_device() resets torch threads to this value
    # The DVCLive callback rewrites dvc.yaml inside `dvc repro`; metrics are written by the stages instead.
    wanted = {k: False for k in ("dvc", "sync", "wandb", "mlflow", "comet", "clearml", "neptune", "raytune")
              if k in SETTINGS}
    wanted["tensorboard"] = True
    if any(SETTINGS.get(k) != v for k, v in wanted.items()):
        SETTINGS.update(wanted)
    return threads


def check_device(device: object, key: str, fix: str, example: str = "0") -> None:
    """Refuse, before any output is touched, a CUDA device that torch does not see on this machine. `key` names
    where the device was chosen (an option or a params.yaml key), `fix` says what to choose instead where there is
    no GPU, and `example` shows a valid choice where there are fewer GPUs than named."""
    from hwdetect.cli import UserError
    from hwdetect.config.checks import gpu_indices

    if device is None or device == "":
        return
    try:
        gpus = gpu_indices(device)
    except ValueError:
        raise UserError(f"{key}: {device!r} is not a device; use cpu, mps or a GPU index such as 0") from None
    if not gpus:
        return
    import torch

    if not torch.cuda.is_available():
        raise UserError(f"{key} is {device!r} but torch sees no CUDA GPU on this machine; {fix} "
                        f"(`python -m hwdetect.doctor` says why)")
    if max(gpus) >= torch.cuda.device_count():
        raise UserError(f"{key} is {device!r} but torch sees {torch.cuda.device_count()} CUDA GPU(s) on this machine; "
                        f"list only the GPUs it has (nvidia-smi -L), e.g. {example}")

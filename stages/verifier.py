"""Stage `verifier`: train the verifier, a small CNN that looks again at each detected box at page resolution and
ranks down the boxes it takes for print, and record whether box edges are then snapped to the ink, whether boxes are
split where they run over print and how the close look is taken (hwdetect/verify).

Output: models/detector/verifier.pt (used by evaluate, predict and pre-annotation beside best.pt), its ONNX export
models/detector/verifier.onnx (checked against PyTorch on the held-out crops) and metrics/verifier.json (accuracy on
crops of held-out synthetic pages: handwriting kept, print rejected).
"""
from __future__ import annotations

import argparse

from hwdetect import paths
from hwdetect.cli import cli, log
from hwdetect.config import params
from hwdetect.files.atomic import write_json
from hwdetect.training import runtime


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog="Reads params.yaml: seed, synthetic, "
                            "verifier, export.opset, train.threads, train.cpu_isa.").parse_args()
    p = params.load()
    runtime.setup(p["train"]["threads"], p["train"]["cpu_isa"])
    from hwdetect.synth.generate import page_spec
    from hwdetect.verify.export import export_onnx
    from hwdetect.verify.fit import fit
    from hwdetect.verify.net import save

    v = p["verifier"]
    net, metrics, held_out = fit(p["seed"], page_spec(p["synthetic"]), v, p["synthetic"]["workers"])
    diff = export_onnx(net, paths.VERIFIER_ONNX, v["threshold"], v["snap"], v["split"], v["close_look"],
                       p["export"]["opset"], held_out)
    save(paths.VERIFIER, net, v["threshold"], v["snap"], v["split"], v["close_look"])
    # The ONNX difference is logged, not kept: its last bits vary with thread scheduling, the metrics must not.
    write_json(paths.metrics_file("verifier"), {k: round(x, 4) if isinstance(x, float) else x
                                                for k, x in metrics.items()})
    log.info(f"verifier: {metrics['val_handwriting_kept']:.1%} of handwriting kept, "
             f"{metrics['val_print_rejected']:.1%} of print rejected on {metrics['val_crops']} held-out crops; "
             f"{paths.shown(paths.VERIFIER)} (ONNX copy within {diff:.1e} of it)")


if __name__ == "__main__":
    cli(main)

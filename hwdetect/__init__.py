"""The handwriting detector's library: everything the DVC stages in stages/ call, in folders that follow the data.

    config/      params.yaml: loading, checking, and the names it may choose from
    synth/       synthetic document pages with their line boxes
    sources/     data sources (IAM, your own annotations, reading images) and the train/val/test split
    training/    Ultralytics training, set up offline and reproducibly, published as canonical files
    evaluation/  validation, metrics, the HTML report, the ONNX export and its parity check
    files/       atomic outputs, the walk over a user's folder, the YOLO label format
    paths.py     every path the pipeline reads or writes
    cli.py       one-line errors and exit codes for every command
    predict.py   `python -m hwdetect.predict`: boxes for your own page images
"""

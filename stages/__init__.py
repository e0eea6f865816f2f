"""Stages of the handwriting detector pipeline, each runnable as `python -m stages.<name>`."""

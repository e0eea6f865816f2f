"""Training with Ultralytics: process set-up (runtime.py), the run itself (trainer.py), and its files rewritten into
outputs whose bytes depend only on the training (runfiles.py)."""

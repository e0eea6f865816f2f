"""The verifier: a second look at each detected box, at the resolution of the page rather than the detector's input.

At the detector's input size (288 px for a whole page) a typed line and a handwritten one are a few pixels tall and
look alike; cut out of the full image and scaled to a fixed height, they do not. The verifier is a small CNN trained
on crops of the generator's handwriting and print boxes. A box it doubts (handwriting probability below its
threshold) has its score multiplied by that probability (Verifier.rescore); a box it keeps that runs over a printed
label and the entry written after it is cut into its handwriting (pieces.py). It sits in models/detector/verifier.pt
beside the detector, with an ONNX copy (verifier.onnx) for deployments without torch.
"""

"""A module beside the operator script: shipped in the image with it."""
import numpy as np


def affine(image, a, b, out):
    np.multiply(image, np.float32(a), out=out, dtype=np.float32)
    np.add(out, np.float32(b), out=out)

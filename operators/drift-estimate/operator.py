"""drift-estimate: the translation of every frame of a stream relative to a reference image, by scikit-image's
(upsampled) phase cross-correlation (skimage.registration.phase_cross_correlation, Guizar-Sicairos et al. 2008).

Warm state lives on the instance: a copy of the reference and its Fourier transform, so that each frame costs one
forward FFT. Inputs are views of shared memory that the engine reuses once a call has answered (PROTOCOL.md §8.4):
the reference is kept as a copy, never as the input view. scikit-image and SciPy are imported in setup(), when the
operator process starts, not at import: `--describe` needs numpy only.
"""
import sys

import numpy as np

from emflow_sdk import Json, operator


@operator(
    name="drift-estimate",
    version="1.0.0",
    description=(
        "Drift of each frame of a stream relative to a reference, by upsampled phase cross-correlation "
        "(skimage.registration.phase_cross_correlation): sub-pixel to 1/upsampleFactor px. The reference is the `reference` input when "
        "connected (one frame is reused against the whole stream), else the first frame of the stream (frame 0 of each run). "
        "`shift` gets {frame, dy, dx, error, phasediff} per frame: the frame shows the reference displaced by (dy, dx) px along "
        "(rows, columns), i.e. frame ≈ scipy.ndimage.shift(reference, (dy, dx)); shifting the frame by (−dy, −dx) aligns it. error is "
        "skimage's translation-invariant normalised RMS error (0: identical after the shift, 1: unrelated; only meaningful with normalization "
        "\"none\"), phasediff the global phase difference (rad). With `align`, "
        "`aligned` gets the frame shifted by (−dy, −dx) in Fourier space (periodic edges), float32."
    ),
    inputs={
        "image": {"type": "image2d", "description": "the stream of frames, any dtype, finite pixels; all of the reference's shape"},
        "reference": {"type": "image2d", "required": False,
                      "description": "the image every frame is registered to; not connected: the stream's first frame"},
    },
    outputs={
        "shift": {"type": "json", "description": "{frame, dy, dx, error, phasediff}: dy, dx in px (rows, columns), the frame's displacement from the reference"},
        "aligned": {"type": "image2d", "description": "align = true: the frame moved back onto the reference (float32, same shape)"},
    },
    params={
        "upsampleFactor": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20, "units": "1/px",
                           "description": "sub-pixel precision: shifts are found to 1/upsampleFactor px (1: whole pixels)"},
        "normalization": {"type": "string", "enum": ["none", "phase"], "default": "none",
                          "description": "\"none\": plain cross-correlation (robust to noise and to the non-periodic edges of real frames); \"phase\": phase "
                                         "correlation (cross-power spectrum normalised to unit magnitude: a sharp peak, exact on periodic shifts, scikit-image's "
                                         "default; it biases sub-pixel shifts of cropped frames by up to ~0.1 px, and scikit-image 0.19 then reports error ≈ 1)"},
        "align": {"type": "boolean", "default": False, "description": "also emit each frame shifted back onto the reference on `aligned`"},
    },
    display={"category": "registration"},
)
class DriftEstimate:
    def setup(self):
        try:
            from scipy.ndimage import fourier_shift
            from skimage.registration import phase_cross_correlation
        except ImportError as error:
            raise ImportError(f"drift-estimate needs scikit-image and SciPy (Debian: python3-skimage) in {sys.executable}: {error}; "
                              "name another interpreter with EMFLOW_PYTHON or [tool.emflow] python") from None
        self.fourier_shift, self.phase_cross_correlation = fourier_shift, phase_cross_correlation
        self.reference = None  # float64 copy of the reference image
        self.reference_fft = None

    def use_reference(self, image):
        """Make `image` (a view of shared memory) the reference: a copy and its FFT, recomputed only when it changed."""
        if self.reference is not None and self.reference.shape == image.shape and np.array_equal(self.reference, image):
            return
        self.reference = np.array(image, dtype=np.float64)  # a copy: the input slot is reused after this call
        self.reference_fft = np.fft.fft2(self.reference)

    def process(self, inputs, params, ctx):
        image = inputs["image"]
        if "reference" in inputs:
            self.use_reference(self.checked(inputs["reference"], "reference"))
        elif ctx.frame == 0:
            self.use_reference(self.checked(image, "image"))
        elif self.reference is None:
            raise RuntimeError("drift-estimate: no reference: the stream's first frame (frame 0) was not seen in this run")
        moving = self.checked(image, "image")
        if moving.shape != self.reference.shape:
            raise ValueError(f"drift-estimate: frame {ctx.frame} is {list(moving.shape)} (rows, columns), the reference {list(self.reference.shape)}; they must match")
        moving_fft = np.fft.fft2(np.asarray(moving, dtype=np.float64))
        shifts, error, phasediff = self.phase_cross_correlation(self.reference_fft, moving_fft, space="fourier", upsample_factor=int(params["upsampleFactor"]),
                                                                normalization=None if params["normalization"] == "none" else "phase")
        # skimage gives the shift that registers the frame onto the reference: the drift is its opposite
        dy, dx = (0.0 - float(s) for s in shifts)  # 0.0 - s: never -0.0
        outputs = {"shift": Json({"frame": ctx.frame, "dy": dy, "dx": dx, "error": float(error), "phasediff": float(phasediff)})}
        if params["align"]:
            aligned = ctx.alloc("aligned", "float32", moving.shape, {"driftShift": [dy, dx]})
            aligned[...] = np.fft.ifft2(self.fourier_shift(moving_fft, (-dy, -dx))).real
            outputs["aligned"] = aligned
        return outputs

    @staticmethod
    def checked(image, port):
        if not np.isfinite(image).all():
            raise ValueError(f"drift-estimate: input \"{port}\" has non-finite pixels (NaN or ±inf)")
        return image

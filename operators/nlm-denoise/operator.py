"""nlm-denoise: scikit-image's non-local-means filter (skimage.restoration.denoise_nl_means) on 2-D images.

The image is taken as float64 in its own intensity units (preserve_range: not rescaled to 0..1 as img_as_float
would do for integers), so h and sigma are in the units of the input's pixel values. scikit-image is imported in
setup(), when the operator process starts, not at import: `--describe` needs numpy only.
"""
import sys

import numpy as np

from emflow_sdk import operator


@operator(
    name="nlm-denoise",
    version="1.0.0",
    description=(
        "Non-local-means denoising of a 2-D image: skimage.restoration.denoise_nl_means(image.astype(float64), patch_size, "
        "patch_distance, h, fast_mode=fastMode, sigma, preserve_range=True), written as float32. Every pixel becomes a weighted mean of "
        "the pixels within patchDistance whose surrounding patchSize×patchSize patches look alike. h and sigma are in the input's own "
        "intensity units (counts, grey levels; integers are not rescaled to 0..1). Left at 0, the noise σ is estimated per frame "
        "(skimage.restoration.estimate_sigma: wavelet median absolute deviation, for Gaussian noise) and h = hFactor·σ. "
        "Output metadata: nlmH and nlmSigma (the values used) and nlmSigmaEstimated."
    ),
    inputs={"image": {"type": "image2d", "description": "image of any dtype; every pixel must be finite"}},
    outputs={"image": {"type": "image2d", "description": "denoised float32 image, same shape and metadata"}},
    params={
        "patchSize": {"type": "integer", "minimum": 1, "maximum": 51, "default": 5, "units": "px",
                      "description": "edge of the square patches compared (skimage patch_size)"},
        "patchDistance": {"type": "integer", "minimum": 1, "maximum": 100, "default": 6, "units": "px",
                          "description": "largest offset searched for similar patches (skimage patch_distance); cost grows with its square"},
        "h": {"type": "number", "minimum": 0, "default": 0, "units": "intensity (input units)",
              "description": "filter strength (cut-off distance of patch similarity): higher smooths more. 0: automatic, hFactor·σ"},
        "hFactor": {"type": "number", "exclusiveMinimum": 0, "maximum": 100, "default": 0.8, "units": "× σ",
                    "description": "automatic h as a multiple of the noise σ (used when h is 0); scikit-image suggests 0.8 in fast mode with sigma given, 0.6 in slow mode"},
        "sigma": {"type": "number", "minimum": 0, "default": 0, "units": "intensity (input units)",
                  "description": "standard deviation of the (Gaussian) noise. 0: estimated from each frame with estimate_sigma"},
        "subtractNoise": {"type": "boolean", "default": True,
                          "description": "pass sigma to denoise_nl_means, which subtracts the noise variance 2σ² from patch distances (more robust weights); false: the classic weights"},
        "fastMode": {"type": "boolean", "default": True,
                     "description": "the fast algorithm (Darbon et al. 2008: uniform patch weights, cost independent of patchSize) instead of the original Buades et al. one"},
    },
    display={"category": "filter"},
)
class NlmDenoise:
    def setup(self):
        try:
            from skimage.restoration import denoise_nl_means, estimate_sigma
        except ImportError as error:
            raise ImportError(f"nlm-denoise needs scikit-image (Debian: python3-skimage) in {sys.executable}: {error}; "
                              "name another interpreter with EMFLOW_PYTHON or [tool.emflow] python") from None

        self.denoise_nl_means, self.estimate_sigma = denoise_nl_means, estimate_sigma

    def process(self, inputs, params, ctx):
        image = inputs["image"]
        values = np.asarray(image, dtype=np.float64)
        if not np.isfinite(values).all():
            bad = int(values.size - np.count_nonzero(np.isfinite(values)))
            raise ValueError(f"nlm-denoise: input \"image\" has {bad} non-finite pixels (NaN or ±inf); denoise_nl_means needs finite values")
        sigma = float(params["sigma"])
        estimated = sigma == 0
        if estimated:
            sigma = float(self.estimate_sigma(values))
        h = float(params["h"]) or params["hFactor"] * sigma
        out = ctx.alloc("image", "float32", values.shape, {"nlmH": h, "nlmSigma": sigma, "nlmSigmaEstimated": estimated})
        if h == 0:
            # no noise found (a noiseless or constant image): the limit of h -> 0 is the image itself
            out[...] = values
            return {"image": out}
        out[...] = self.denoise_nl_means(values, patch_size=int(params["patchSize"]), patch_distance=int(params["patchDistance"]), h=h,
                                         fast_mode=bool(params["fastMode"]), sigma=sigma if params["subtractNoise"] else 0.0, preserve_range=True)
        return {"image": out}

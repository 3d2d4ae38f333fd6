"""Array types shared by the live core: one name per element type."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArr = npt.NDArray[np.float32]  # joints, windows, feature vectors
Float64Arr = npt.NDArray[np.float64]  # probabilities, weights, timestamps
IntArr = npt.NDArray[np.int64]
ImageArr = npt.NDArray[np.uint8]  # pixels, (H, W, 3)

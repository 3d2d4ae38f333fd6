"""Motion capture rendered as video of a mannequin that PoseLandmarker can see."""

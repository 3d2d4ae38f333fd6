"""Keypoints of videos: PoseLandmarker run once per video, cached on disk."""

"""Keypoints of videos: PoseLandmarker run once per video, cached on disk.

Modules: `stream` (what is asked for and given back per stream), `cache` (the on-disk
cache and its key), `decode` (a video opened once), `extract` (one video -> its streams),
`run` (many videos, cache and workers), `report` (what an extraction could not use).
"""

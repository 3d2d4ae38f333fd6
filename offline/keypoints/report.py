"""What keypoint extraction did and could not do, for the caller to print."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExtractionReport:
    """Counts of one extraction and what it could not use.

    Attributes:
        missing_videos: video path -> reason (not found, cannot be opened, no frames).
        unreadable_frames: stream name -> requested frame indices that failed to decode.
        frames_past_end: stream name -> frame indices missing at the video's end: asked
            for past its last frame, or listed by the header of a file cut short.
        discarded_cache: corrupt cache files that were deleted and rebuilt.
        n_cached, n_extracted: streams served from the cache / run through pose.
        n_frames_extracted: frames run through pose.
    Dataset readers add what only they know (`offline.datasets.registry.DatasetReport`).
    """

    missing_videos: dict[str, str] = field(default_factory=dict)
    unreadable_frames: dict[str, list[int]] = field(default_factory=dict)
    frames_past_end: dict[str, list[int]] = field(default_factory=dict)
    discarded_cache: list[str] = field(default_factory=list)
    n_cached: int = 0
    n_extracted: int = 0
    n_frames_extracted: int = 0

    def lines(self) -> list[str]:
        """Human-readable summary, one problem kind per line (long lists shortened)."""
        out = [
            f"keypoints: {self.n_extracted} streams extracted ({self.n_frames_extracted} "
            f"frames), {self.n_cached} from the cache"
        ]
        if self.missing_videos:
            items = [f"{k} ({v})" for k, v in self.missing_videos.items()]
            out.append(f"{len(items)} videos missing or unreadable: {shorten(items)}")
        kinds = (
            ("undecodable inside the video (skipped)", self.unreadable_frames),
            ("missing at the end of the video (cut short, or asked for past its end)",
             self.frames_past_end),
        )  # fmt: skip
        for title, frames in kinds:
            if frames:
                total = sum(len(v) for v in frames.values())
                items = [f"{k} (frames {spans(v)})" for k, v in frames.items()]
                out.append(f"{total} frames {title}, in {len(frames)} streams: {shorten(items)}")
        if self.discarded_cache:
            out.append(
                f"{len(self.discarded_cache)} corrupt cache files rebuilt: "
                f"{shorten(self.discarded_cache)}"
            )
        return out


def shorten(items: list[str], limit: int = 10) -> str:
    """`items` joined with commas, the first `limit` only and a count of the rest."""
    more = f", … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def spans(indices: list[int], limit: int = 5) -> str:
    """Frame indices as runs: [3, 4, 5, 9] -> '3-5, 9' (the first `limit` runs only)."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return shorten([f"{a}-{b}" if b > a else str(a) for a, b in runs], limit)

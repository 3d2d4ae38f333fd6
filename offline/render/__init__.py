"""Motion capture rendered as video of a mannequin that PoseLandmarker can see.

Modules: `body` (the look and primitives of the figure), `scene` (the figure posed on a
clip for one virtual camera), `intersect` (ray-primitive hits and normals), `raycast`
(the renderer that draws a scene), `clip` (one clip to frames or an .mp4), `dataset` (a
labelled library to a folder of labelled videos); `python -m offline.render` is the
command line (`__main__`). The names below are loaded from `dataset` when first used, so
that `python -m offline.render` starts with nothing heavy imported (its Ctrl-C guard,
`offline.entry.interrupt_at_startup`, covers the rest).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offline.render.dataset import (
        DEFAULT_RENDER_DIR,
        DEFAULT_VIEWS,
        RENDERER_VERSION,
        RenderJob,
        plan_dataset,
        render_jobs,
    )

__all__ = [
    "DEFAULT_RENDER_DIR",
    "DEFAULT_VIEWS",
    "RENDERER_VERSION",
    "RenderJob",
    "plan_dataset",
    "render_jobs",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from offline.render import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

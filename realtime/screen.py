"""The display window, and whether one can be shown at all.

`Screen` is the only place that calls `imshow` and `waitKey`. `display_problem` says why no
window can be opened (checked before opening one, since a window on a display that does
not answer aborts the process inside Qt), so the app can run headless instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Final

import numpy as np
import numpy.typing as npt

QUIT_KEYS: Final[tuple[int, ...]] = (ord("q"), ord("Q"), 27)  # q or Esc


class Screen:
    """The display window; the only place that calls imshow and waitKey.

    Raises:
        RuntimeError: no window can be opened (no display, or OpenCV built without GUI).
    """

    def __init__(self, title: str = "PosEmotion") -> None:
        import cv2

        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as e:
            raise RuntimeError(
                f"cannot open a window ({str(e).strip().splitlines()[-1]}); use --headless"
            ) from None
        self._shown = False

    def show(self, image: npt.NDArray[np.uint8]) -> None:
        """Show an (H, W, 3) uint8 BGR frame (drawn at the next `poll`)."""
        import cv2

        cv2.imshow(self.title, image)
        self._shown = True

    def poll(self) -> bool:
        """Process GUI events; True when the user asked to quit (q, Esc, window closed)."""
        import cv2

        key = cv2.waitKey(1)
        if key != -1 and (key & 0xFF) in QUIT_KEYS:
            return True
        return self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        import cv2

        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


def display_problem() -> str | None:
    """Why no window can be shown, or None when a display looks usable.

    On Linux/BSD: no DISPLAY or WAYLAND_DISPLAY, or an X display that does not answer (a
    window on it would abort the process inside Qt). Elsewhere: always None.
    """
    if sys.platform.startswith(("win", "darwin")):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return None if os.environ.get("WAYLAND_DISPLAY") else "DISPLAY is not set"
    if not _x_display_answers(display):
        return f"display {display} does not answer"
    return None


def _x_display_answers(display: str) -> bool:
    """Whether something accepts connections for X display "[host]:N[.screen]" (0.5 s each)."""
    import socket

    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return True  # an unusual form: let the GUI toolkit decide
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # file socket, then Linux abstract socket
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.5)
                s.connect(address)
                return True
        return False
    with contextlib.suppress(OSError), socket.create_connection((host, 6000 + number), 0.5):
        return True
    return False

"""The display window, and whether one can be shown at all.

`Screen` is the only place that calls `imshow` and `waitKey`. `display_problem` says why no
window can be opened (checked before opening one, since a window on a display that does
not answer aborts the process inside Qt), so the app can run headless instead: a malformed
DISPLAY, Wayland without X (this OpenCV's Qt has only the xcb plugin), an X display that
does not answer, and finally a real window opened in a child process, which may abort
without taking the app with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from typing import Final

import numpy as np
import numpy.typing as npt

QUIT_KEYS: Final[tuple[int, ...]] = (ord("q"), ord("Q"), 27)  # q or Esc
# X display names: [host]:display[.screen] (host may be a name, an IPv4 or "unix")
_X_DISPLAY: Final = re.compile(r"^(?P<host>[A-Za-z0-9._/-]*):(?P<number>\d+)(?:\.\d+)?$")
# opens and closes one window; a display Qt cannot use aborts only this child
_PROBE: Final[str] = (
    "import cv2; cv2.namedWindow('probe', cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL); "
    "cv2.waitKey(1); cv2.destroyAllWindows(); cv2.waitKey(1)"
)
PROBE_TIMEOUT_S: Final[float] = 20.0


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


def display_problem(*, probe: bool = True) -> str | None:
    """Why no window can be shown, or None when one can.

    On Linux/BSD: no DISPLAY (OpenCV's Qt here has only the X11 "xcb" plugin, so
    WAYLAND_DISPLAY alone is not enough), a DISPLAY that is not an X display name, an X
    display that does not answer, or (with `probe`) a window that cannot really be opened:
    tried in a child process, since Qt aborts the process it fails in. Elsewhere: None.
    """
    if sys.platform.startswith(("win", "darwin")):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY"):
            return "WAYLAND_DISPLAY is set but DISPLAY is not, and OpenCV's windows need X11"
        return "DISPLAY is not set"
    if _X_DISPLAY.match(display) is None:
        return f"DISPLAY={display!r} is not an X display name like :0 or host:0.0"
    if not _x_display_answers(display):
        return f"display {display} does not answer"
    if probe:
        return _window_problem(display)
    return None


def _window_problem(display: str) -> str | None:
    """Open one window in a child process; why it failed, or None."""
    try:
        child = subprocess.run(
            [sys.executable, "-c", _PROBE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"a window on display {display} did not open within {PROBE_TIMEOUT_S:g} s"
    except OSError as e:
        return f"cannot check display {display} ({e.strerror})"
    if child.returncode != 0:
        lines = child.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1].strip() if lines else f"exit code {child.returncode}"
        return f"a window on display {display} cannot be opened ({why[:120]})"
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

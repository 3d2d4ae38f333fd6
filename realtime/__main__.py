"""`python -m realtime`: a Ctrl-C while the app's modules load (numpy, OpenCV: about half a
second) is one line and exit 130, never a traceback; `realtime.cli.main` does the rest."""

import sys

try:
    from realtime.cli import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted while starting: nothing was read or written\n")
    raise SystemExit(130) from None

raise SystemExit(main())

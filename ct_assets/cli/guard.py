"""The guard of a `ct up`: stops everything it started once it ends, however it ends.

`ct up` handles Ctrl-C and SIGTERM itself; nothing runs in a process killed by SIGKILL (an OOM
kill, a crashed container, `kill -9`). So `ct up` starts this small process first, in a session
of its own, with a pipe on its stdin whose only writer is `ct up`: the kernel closes the pipe
when `ct up` ends by any path, the guard reads end-of-file and stops every process carrying the
`ct up`'s tag (daemon, UI, serve, the code servers and run workers they started). It holds the
instance's lock meanwhile (inherited), so the next `ct up` starts only once they are gone.

Run as `python -m ct_assets.cli.guard <tag> <grace seconds>`.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str]) -> int:
    # Imported before waiting, so that stopping starts the moment ct up is gone.
    from ct_assets.cli.processes import stop_tagged

    tag, grace = argv[0], float(argv[1])
    # Signals meant for the terminal's foreground job are not ours: only the pipe ends us.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    stop_tagged(tag, grace)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

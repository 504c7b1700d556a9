"""Named crash points: the moments where a process dying would leave something half done.

Each write that must survive a crash calls `crash_point("<name>")` at the moment in question.
Nothing happens unless `CT_CRASH_AT` names that point: then the process kills itself with
SIGKILL, exactly as an OOM kill or a pulled plug would (no `finally`, no atexit, no flush).
`CT_CRASH_ONCE=<file>` makes it a one-off: the first process to reach the point creates the
file and dies; every later one (the restart, the retried run) goes on.

`CT_PAUSE_AT=<name>` stops the process at the point instead, for good, after writing its pid to
`CT_CRASH_ONCE` (required then): a test waits for that file and kills whatever it chooses at
that moment (the process, its parent, the whole tree), as a crash of the machine would.

The fault-schedule tests set these variables on real processes; in normal use they are unset
and a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_AT = "CT_CRASH_AT"
PAUSE_AT = "CT_PAUSE_AT"
CRASH_ONCE = "CT_CRASH_ONCE"


def crash_point(name: str) -> None:
    """Die here, by SIGKILL (or stop here, for good), when the environment asks for it."""
    crash, pause = os.environ.get(CRASH_AT) == name, os.environ.get(PAUSE_AT) == name
    if not (crash or pause):
        return
    once = os.environ.get(CRASH_ONCE)
    if once:
        try:
            # O_EXCL: of two processes reaching the point at once, exactly one stops.
            fd = os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    if crash:
        os.kill(os.getpid(), signal.SIGKILL)
    while True:
        signal.pause()

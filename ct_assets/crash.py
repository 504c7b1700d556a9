"""Named crash points: the moments where a process dying would leave something half done.

Each write that must survive a crash calls `crash_point("<name>")` at the moment in question.
Nothing happens unless `CT_CRASH_AT` names that point: then the process kills itself with
SIGKILL, exactly as an OOM kill or a pulled plug would (no `finally`, no atexit, no flush).
`CT_CRASH_ONCE=<file>` makes it a one-off: the first process to reach the point creates the
file and dies; every later one (the restart, the retried run) goes on. The fault-schedule tests
(tests/test_crashes.py) set these variables on real processes; in normal use they are unset and
a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_AT = "CT_CRASH_AT"
CRASH_ONCE = "CT_CRASH_ONCE"


def crash_point(name: str) -> None:
    """Die here, by SIGKILL, when the environment asks for a crash at `name`."""
    if os.environ.get(CRASH_AT) != name:
        return
    once = os.environ.get(CRASH_ONCE)
    if once:
        try:
            # O_EXCL: of two processes reaching the point at once, exactly one dies.
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)

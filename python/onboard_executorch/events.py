"""Progress events for the TypeScript side, as JSON lines on file descriptor 3.

stdout and stderr go to the export log; fd 3 carries only these events, so
library output can never be mistaken for one.
"""

import json
import os
import time

_EVENTS_FD = 3
_started = time.monotonic()


def _write(event: dict) -> None:
    event["elapsed_s"] = round(time.monotonic() - _started, 3)
    line = (json.dumps(event) + "\n").encode()
    try:
        os.write(_EVENTS_FD, line)
    except OSError:
        # Run by hand without fd 3: print the event to the log instead.
        print("event:", line.decode().strip(), flush=True)


def stage(name: str, detail: str = "") -> None:
    print(f"== stage {name} {detail}", flush=True)
    _write({"type": "stage", "stage": name, "detail": detail})


def result(**fields) -> None:
    _write({"type": "result", **fields})


def failure(code: str, message: str, hint: str = "") -> None:
    _write({"type": "error", "code": code, "message": message, "hint": hint})

"""A service written with svcctl.svc's Service class, run as ``"<python.exe>" -m <package>.<module>``.

The test copies this file into a package it puts on the Windows Python's path (a .pth file, as
``pip install`` would), so the image is the interpreter itself with ``-m``, no script path and no
helper exe. Process argv: ``<log>``. Start arguments: ``--exit=N`` (run() returns N, reported as
service-specific code N under 1066). User controls are recorded; the SCM's events go to ``<log>``.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from svcctl.svc import Accept, Service, run
from svcctl.svc.platform import select_dispatcher

LOG = sys.argv[1]


def log(event: str, **data: object) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "pid": os.getpid(), **data}) + "\n")


class Echo(Service):
    accepts = Accept.STOP | Accept.PAUSE_CONTINUE | Accept.SHUTDOWN
    start_wait_hint_ms = 4000

    def start(self, args: list[str]) -> None:
        self.exit_code = 0
        for arg in args:
            if arg.startswith("--exit="):
                self.exit_code = int(arg[7:])
        self.active = threading.Event()
        self.active.set()
        log("start", args=args, name=self.status.name if self.status else None, module=__name__)

    def run(self) -> int:
        self.stopping.wait()
        log("run-returns", code=self.exit_code)
        return self.exit_code

    def pause(self) -> None:
        self.active.clear()
        log("pause")

    def resume(self) -> None:
        self.active.set()
        log("resume")

    def control(self, code: int, event_type: int, data: object) -> int:
        log("control", control=code)
        return super().control(code, event_type, data)


def main() -> int:
    log("image", dispatcher=select_dispatcher().__name__, stdout_none=sys.stdout is None)
    run(Echo)
    log("dispatcher-returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())

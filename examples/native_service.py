"""A native Python service, the smallest useful one: counts ticks, pauses, stops with a code.

    svcctl create ticker binpath= "/usr/bin/python3 /path/to/examples/native_service.py" start= auto
    svcctl start ticker
    svcctl control ticker 200     # user-defined control: reset the counter
    svcctl stop ticker

Run it in the console (Ctrl+C = STOP): python examples/native_service.py --debug
"""

from __future__ import annotations

import sys
import threading

from svcctl.svc import Accept, Service, debug, run


class Ticker(Service):
    name = "ticker"
    accepts = Accept.STOP | Accept.PAUSE_CONTINUE | Accept.SHUTDOWN

    def start(self, args: list[str]) -> None:
        self.ticks = 0
        self.running = threading.Event()
        self.running.set()

    def run(self) -> int:
        while not self.stopping.wait(1.0):
            if self.running.is_set():
                self.ticks += 1
        return 0

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def control(self, code: int, event_type: int, data: object) -> int:
        if code == 200:
            self.ticks = 0
            return 0
        return super().control(code, event_type, data)


def main(argv: list[str] | None = None) -> int:
    """Entry point; the in-process SCM (backend="memory") calls it directly."""
    args = sys.argv[1:] if argv is None else argv
    if "--debug" in args:
        return debug(Ticker)
    run(Ticker)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A service image for the contract suite: behaviours chosen on its command line.

    python svchost.py --log FILE [--name NAME ...] [--behave KIND] [--code N]

KIND: normal, fail-start, slow-start, slow-stop, exit-code, hang-handler, crash (50 ms after
RUNNING, every run), crash-first (only on the image's first start), return-without-stopped, plain.

Every ServiceMain start and every control is appended to FILE as a JSON line (with the time), so
tests observe what the service itself saw. Runs as a real process (portable backend) or as an
in-process image (memory backend) through ``main(argv)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from svcctl.svc import Accept, Dispatcher, Service, ServiceExit, run
from svcctl.svc import channel as svc_channel


def make_service(opts: argparse.Namespace, name: str) -> type[Service]:
    log_lock = threading.Lock()

    def log(**rec: Any) -> None:
        rec["t"] = time.time()
        rec["pid"] = os.getpid()
        with log_lock, open(opts.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    class Svc(Service):
        accepts = Accept.STOP | Accept.PAUSE_CONTINUE | Accept.SHUTDOWN | Accept.PARAMCHANGE

        def start(self, args: list[str]) -> None:
            log(event="start", name=name, argv=[self.status.name if self.status else "", *args])
            if opts.behave == "fail-start":
                raise ServiceExit(opts.code)
            if opts.behave == "slow-start":
                for _ in range(3):
                    self.checkpoint(2000)
                    time.sleep(0.2)

        def run(self) -> int | None:
            if opts.behave == "return-without-stopped":
                self.status.running(self.accepts)  # B57: ServiceMain returns, no STOPPED report
                raise _Detach
            first = sum(1 for r in _records(opts.log) if r.get("event") == "start") == 1
            if opts.behave == "crash" or (opts.behave == "crash-first" and first):
                time.sleep(0.05)
                log(event="crash", name=name)
                crash()
            self.stopping.wait()
            return opts.code if opts.behave == "exit-code" else 0

        def stop(self) -> None:
            log(event="stop", name=name)
            if opts.behave == "slow-stop":
                for _ in range(3):
                    self.checkpoint(2000)
                    time.sleep(0.2)
            super().stop()

        def pause(self) -> None:
            log(event="pause", name=name)

        def resume(self) -> None:
            log(event="continue", name=name)

        def control(self, code: int, event_type: int, data: Any) -> int:
            log(event="control", name=name, code=code)
            if opts.behave == "hang-handler" and code == 200:
                time.sleep(opts.code / 1000)
            return 0xDEADBEEF if code == 128 else super().control(code, event_type, data)

    Svc.name = name  # type: ignore[misc]
    return Svc


def _records(path: str) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class _Detach(BaseException):
    """Leave ServiceMain without reporting STOPPED (B57)."""


def crash() -> None:
    """End the image abruptly, as a crash would."""
    if svc_channel.inprocess_killed() is not None:
        sock = getattr(svc_channel._inprocess, "sock", None)
        if sock is not None:
            sock.shutdown(2)
        return
    os._exit(3)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--name", action="append")
    p.add_argument("--behave", default="normal")
    p.add_argument("--code", type=int, default=0)
    opts = p.parse_args(argv)
    if opts.behave == "plain":
        return  # not a service: never calls the dispatcher
    names = opts.name or ["svc"]
    classes = [make_service(opts, n) for n in names]
    table = {}
    for cls in classes:

        def entry(d: Dispatcher, argv: list[str], cls: type[Service] = cls) -> None:
            try:
                cls()._main(d, argv)
            except _Detach:
                pass

        table[cls.name] = entry
    run(table=table)


if __name__ == "__main__":
    main(sys.argv[1:])

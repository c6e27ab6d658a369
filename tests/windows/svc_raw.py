"""A Windows service written straight on svcctl.winapi (no svcctl.svc): the raw layer's proof.

ImagePath: ``"<python.exe>" "<this file>" "<log file>"``. Services have no stdout (Python's
sys.stdout is None in them), so every event goes to the log as one JSON line. Start arguments:
``--exit=N`` makes the stop report ERROR_SERVICE_SPECIFIC_ERROR (1066) with N; ``--pending=N``
reports N START_PENDING checkpoints (50 ms apart) before RUNNING. Controls: STOP, PAUSE,
CONTINUE, INTERROGATE and user codes 128-255 (logged).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))

from ctypes import byref

from svcctl.winapi import advapi32 as a

SERVICE_WIN32_OWN_PROCESS = 0x10
STOPPED, START_PENDING, STOP_PENDING, RUNNING, PAUSED = 1, 2, 3, 4, 7
ACCEPT_STOP_PAUSE_CONTINUE = 0x1 | 0x2
CONTROL_STOP, CONTROL_PAUSE, CONTROL_CONTINUE, CONTROL_INTERROGATE = 1, 2, 3, 4
NO_ERROR, ERROR_CALL_NOT_IMPLEMENTED, ERROR_SERVICE_SPECIFIC_ERROR = 0, 120, 1066

LOG = sys.argv[1]


def log(event: str, **data: object) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "thread": threading.get_ident(), **data}) + "\n")


class Service:
    def __init__(self) -> None:
        self.handle: int = 0
        self.stopped = threading.Event()
        self.exit_code = 0
        self.status = a.SERVICE_STATUS(SERVICE_WIN32_OWN_PROCESS, START_PENDING, 0, 0, 0, 0, 3000)
        # Kept referenced: the SCM calls it for as long as the service runs.
        self.handler = a.LPHANDLER_FUNCTION_EX(self.on_control)

    def report(self, state: int, checkpoint: int = 0, wait_hint: int = 0, accept: int | None = None) -> None:
        s = self.status
        s.dwCurrentState = state
        s.dwCheckPoint, s.dwWaitHint = checkpoint, wait_hint
        if accept is not None:
            s.dwControlsAccepted = accept
        if state == STOPPED and self.exit_code:
            s.dwWin32ExitCode, s.dwServiceSpecificExitCode = ERROR_SERVICE_SPECIFIC_ERROR, self.exit_code
        a.SetServiceStatus(self.handle, byref(s))

    def main(self, argc: int, argv: object) -> None:
        args = [argv[i] for i in range(argc)]  # type: ignore[index]
        log("main", argv=args, pid=os.getpid(), cwd=os.getcwd())
        try:
            self.handle = a.RegisterServiceCtrlHandlerExW(args[0], self.handler, None)
            pending = 0
            for arg in args[1:]:
                if arg.startswith("--exit="):
                    self.exit_code = int(arg.split("=", 1)[1])
                elif arg.startswith("--pending="):
                    pending = int(arg.split("=", 1)[1])
            for cp in range(1, pending + 1):
                self.report(START_PENDING, checkpoint=cp, wait_hint=2000)
                time.sleep(0.05)  # the service's own work being simulated, not a test wait
            self.report(RUNNING, accept=ACCEPT_STOP_PAUSE_CONTINUE)
            log("running")
            self.stopped.wait()
            self.report(STOPPED, accept=0)
            log("stopped", exit_code=self.exit_code)
        except BaseException as exc:  # a service has nobody to raise to: log it
            log("error", error=repr(exc))
            raise

    def on_control(self, control: int, event_type: int, event_data: object, context: object) -> int:
        log("control", control=control, event_type=event_type)
        if control == CONTROL_STOP:
            self.report(STOP_PENDING, checkpoint=1, wait_hint=3000)
            self.stopped.set()
        elif control == CONTROL_PAUSE:
            self.report(PAUSED)
        elif control == CONTROL_CONTINUE:
            self.report(RUNNING)
        elif control == CONTROL_INTERROGATE or 128 <= control <= 255:
            pass
        else:
            return ERROR_CALL_NOT_IMPLEMENTED
        return NO_ERROR


def run() -> int:
    service = Service()
    main = a.LPSERVICE_MAIN_FUNCTIONW(service.main)
    table = a.service_table([("", main)])  # OWN_PROCESS: the name is ignored, "" allowed (doc)
    log("dispatcher")
    try:
        a.StartServiceCtrlDispatcherW(table)
    except OSError as exc:
        log("dispatcher-failed", winerror=exc.winerror)
        return 1
    log("dispatcher-returned")
    return 0


if __name__ == "__main__":
    sys.exit(run())

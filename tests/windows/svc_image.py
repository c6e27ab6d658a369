"""A service image on svcctl.svc's Windows dispatcher: Win32Dispatcher + StatusHandle, no raw calls.

ImagePath: ``"<python.exe>" "<this file>" "<log>" [--share=A,B] [--stdio-dir=DIR]``: the
interpreter itself is the image. ``--share`` builds a table with those keys (SHARE_PROCESS);
otherwise the table has one entry whose name the SCM ignores (B54). Each event is a JSON line in
``<log>``. Start arguments: ``--pending=N`` (N START_PENDING checkpoints with a 2500 ms hint),
``--exit=N`` (stop with service-specific code N), ``--raise-early`` (ServiceMain raises before it
registers), ``--raise-late`` (ServiceMain raises after STOP), ``--print=TEXT`` (to stdout).
Controls: STOP, PAUSE, CONTINUE, INTERROGATE; 200-255 are recorded; 201 makes the handler raise.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))

from svcctl.svc.dispatcher import Dispatcher
from svcctl.svc.status import StatusHandle
from svcctl.svc.win32 import Win32Dispatcher
from svcctl.types import Accept, Control, State, is_user_control

LOG = sys.argv[1]
OPTIONS = dict(arg[2:].split("=", 1) for arg in sys.argv[2:] if arg.startswith("--") and "=" in arg)
ACCEPTS = Accept.STOP | Accept.PAUSE_CONTINUE
_log_lock = threading.Lock()


def log(event: str, **data: object) -> None:
    with _log_lock, open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "pid": os.getpid(), **data}) + "\n")


def service_main(dispatcher: Dispatcher, argv: list[str]) -> None:
    name, args = argv[0], argv[1:]
    opts = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in args if a.startswith("--"))
    log("main", service=name, argv=argv, thread=threading.get_ident())
    if "print" in opts:
        print(opts["print"])
    if "raise-early" in opts:
        raise RuntimeError(f"{name}: raised before register")
    stop = threading.Event()
    status: StatusHandle | None = None

    def handler(code: int, event_type: int, data: object) -> int:
        log("control", service=name, control=code, event_type=event_type)
        assert status is not None
        if code == Control.STOP:
            status.set(State.STOP_PENDING, accepted=0, checkpoint=1, wait_hint=3000)
            stop.set()
        elif code == Control.PAUSE:
            status.paused()
        elif code == Control.CONTINUE:
            status.running(ACCEPTS)
        elif code == Control.INTERROGATE:
            status.reannounce()
        elif code == 201:
            raise RuntimeError(f"{name}: handler raised on 201")
        elif is_user_control(code):
            log("user", service=name, control=code)
        else:
            return 120  # ERROR_CALL_NOT_IMPLEMENTED
        return 0

    status = dispatcher.register(name, handler)
    for _ in range(int(opts.get("pending") or 0)):
        status.pending(State.START_PENDING, 2500)
        time.sleep(0.1)  # the service's own start-up work being simulated, not a test wait
    status.running(ACCEPTS)
    log("running", service=name)
    stop.wait()
    if "raise-late" in opts:
        raise RuntimeError(f"{name}: raised after STOP")
    status.stop(int(opts.get("exit") or 0))
    log("stopped", service=name)


def main() -> int:
    log("image", argv=sys.argv, stdout_none=sys.stdout is None, stderr_none=sys.stderr is None)
    if "stdio-dir" in OPTIONS:
        Win32Dispatcher.stdio_log_dir = OPTIONS["stdio-dir"]
    keys = OPTIONS["share"].split(",") if "share" in OPTIONS else ["svc_image"]
    dispatcher = Win32Dispatcher({key: service_main for key in keys})
    try:
        dispatcher.run()
    except OSError as exc:
        log("dispatcher-failed", winerror=exc.winerror)
        return 1
    log("dispatcher-returned")
    return 0


if __name__ == "__main__":
    sys.exit(main())

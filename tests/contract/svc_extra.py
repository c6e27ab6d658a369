"""A second service image for the contract suite: gated transitions and unusual status reports.

    python svc_extra.py --log FILE --gate PREFIX [--name NAME ...] [--hold STEP ...]
                        [--behave KIND] [--code N] [--accepts N] [--start-accepts N]

Written against the raw dispatcher API (StartServiceCtrlDispatcher / RegisterServiceCtrlHandlerEx /
SetServiceStatus) so that the service reports exactly what a test needs. ``--hold STEP`` keeps the
service in a pending state until the test creates the file ``PREFIX.STEP`` (steps: ``main`` =
before ServiceMain registers anything, ``start``, ``pause``, ``continue``, ``stop``).

Behaviours (``--behave``):
    normal           the walk above, nothing odd
    detach           ServiceMain returns after RUNNING; the handler still answers and stops (B57)
    ignore-stop      on STOP report RUNNING again; STOPPED only once PREFIX.stop exists (B70)
    bad-transition   on user control 130 report PAUSED straight from RUNNING (B74)
    report-type      report dwServiceType = --code instead of the configured type (B81)
    running-hint     report RUNNING/PAUSED with checkpoint 5 and wait hint 10000 (B82)
    stop-win32       stop with dwWin32ExitCode = --code, then call SetServiceStatus again (B85)
    double-dispatch  ServiceMain calls StartServiceCtrlDispatcher a second time (B55)
    bad-table        main first calls the dispatcher with malformed tables (B55)
    bad-register     ServiceMain registers a handler for a name not in the table (B56)
    bad-status       once RUNNING, call SetServiceStatus with states 0, 8 and 0xFFFFFFFF (B83)
    crash            once RUNNING (and PREFIX.crash exists when held), the process dies (B86)
    slow-start       START_PENDING with wait hint 200 ms, then --code more (checkpoint 2, 3, ...)
                     0.4 s apart before the start gate: a slow start that keeps progressing (B52)
    shrink-hint      START_PENDING with wait hint 10000, then after --code ms a second one with 0

Every event goes to FILE as one JSON line with the time ("t") and pid. Runs as a real process or
in-process (memory backend) through ``main(argv)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from svcctl.errors import ScmError
from svcctl.svc import Accept, Control, Dispatcher, State, run
from svcctl.svc import channel as svc_channel
from svcctl.svc.platform import select_dispatcher
from svcctl.types import is_user_control

HERE = Path(__file__).resolve()
GATE_TIMEOUT_S = 30.0
ERROR_CALL_NOT_IMPLEMENTED = 120


def binpath(log: Path, gate: Path, *args: str) -> str:
    """ImagePath of this image (for tests), quoted by Windows' rules inside Windows Python."""
    argv = [sys.executable, str(HERE), "--log", str(log), "--gate", str(gate), *args]
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline(argv)
    return " ".join(argv)


class Gates:
    """The test's side of ``--hold``: open a gate by creating its file."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix

    def open(self, *steps: str) -> None:
        for step in steps:
            Path(f"{self.prefix}.{step}").touch()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--gate", required=True)
    p.add_argument("--name", action="append")
    p.add_argument("--hold", action="append", default=[])
    p.add_argument("--behave", default="normal")
    p.add_argument("--code", type=int, default=0)
    p.add_argument("--accepts", type=int, default=int(Accept.STOP | Accept.PAUSE_CONTINUE))
    p.add_argument("--start-accepts", type=int, default=0)
    opts = p.parse_args(argv)
    log_lock = threading.Lock()
    # In-process (memory backend) the image is a thread: its "process" is its channel to the SCM.
    inprocess_sock = getattr(svc_channel._inprocess, "sock", None)

    def crash() -> None:
        if inprocess_sock is None:
            os._exit(3)
        inprocess_sock.shutdown(2)  # the dispatcher sees its channel gone and the image ends

    def log(**rec: Any) -> None:
        rec["t"] = time.time()
        rec["pid"] = os.getpid()
        with log_lock, open(opts.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def gate(step: str) -> None:
        if step not in opts.hold:
            return
        path = Path(f"{opts.gate}.{step}")
        deadline = time.monotonic() + GATE_TIMEOUT_S
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.005)

    def service_main(d: Dispatcher, argv: list[str]) -> None:
        name = argv[0]
        log(event="start", name=name, argv=argv)
        gate("main")
        if opts.behave == "bad-register":
            try:
                d.register("NoSuchServiceInThisTable", lambda c, e, x: 0)
                log(event="register", code=0)
            except ScmError as exc:
                log(event="register", code=exc.winerror)
        if opts.behave == "double-dispatch":
            try:
                select_dispatcher()({name: lambda d2, a: None}).run()
                log(event="dispatch2", code=0)
            except ScmError as exc:
                log(event="dispatch2", code=exc.winerror)
        lock = threading.Lock()
        stopped = threading.Event()
        stop_requested = threading.Event()
        accepts = opts.accepts
        hint = (5, 10000) if opts.behave == "running-hint" else (0, 0)

        def finish_stop() -> None:
            gate("stop")
            with lock:
                if opts.behave == "stop-win32":
                    st.set(State.STOPPED, win32_exit_code=opts.code)
                    try:
                        st.set(State.RUNNING, accepted=accepts)
                        log(event="after-stopped", code=0)
                    except ScmError as exc:
                        log(event="after-stopped", code=exc.winerror)
                else:
                    st.set(State.STOPPED)
            stopped.set()

        def transition(step: str, final: State) -> None:
            gate(step)
            with lock:
                if not stop_requested.is_set():
                    st.set(final, accepted=accepts, checkpoint=hint[0], wait_hint=hint[1])

        def handler(code: int, event_type: int, data: Any) -> int:
            log(event="control", name=name, code=code)
            if code == Control.INTERROGATE:
                st.reannounce()
                return 0
            if code in (Control.STOP, Control.SHUTDOWN, Control.PRESHUTDOWN):  # B135: shutdown = stop
                stop_requested.set()
                with lock:
                    if opts.behave == "ignore-stop":
                        st.set(State.RUNNING, accepted=accepts)
                    else:
                        st.set(State.STOP_PENDING, accepted=0, checkpoint=1, wait_hint=3000)
                threading.Thread(target=finish_stop, daemon=True).start()
                return 0
            if code == Control.PAUSE:
                with lock:
                    st.set(State.PAUSE_PENDING, accepted=accepts, checkpoint=1, wait_hint=3000)
                threading.Thread(target=transition, args=("pause", State.PAUSED), daemon=True).start()
                return 0
            if code == Control.CONTINUE:
                with lock:
                    st.set(State.CONTINUE_PENDING, accepted=accepts, checkpoint=1, wait_hint=3000)
                threading.Thread(target=transition, args=("continue", State.RUNNING), daemon=True).start()
                return 0
            if opts.behave == "bad-transition" and code == 130:
                try:
                    with lock:
                        st.set(State.PAUSED, accepted=accepts)
                    log(event="set", code=0)
                except ScmError as exc:
                    log(event="set", code=exc.winerror)
                return 0
            return 0 if is_user_control(code) else ERROR_CALL_NOT_IMPLEMENTED

        st = d.register(name, handler)
        if opts.behave == "report-type":
            st.service_type = opts.code
        with lock:
            st.set(State.START_PENDING, accepted=opts.start_accepts, checkpoint=1,
                   wait_hint={"slow-start": 200, "shrink-hint": 10000}.get(opts.behave, 3000))
        if opts.behave == "slow-start":
            for checkpoint in range(2, opts.code + 2):
                time.sleep(0.4)
                with lock:
                    st.set(State.START_PENDING, accepted=opts.start_accepts, checkpoint=checkpoint, wait_hint=200)
                log(event="checkpoint", checkpoint=checkpoint)
        elif opts.behave == "shrink-hint":
            time.sleep(opts.code / 1000)
            with lock:
                st.set(State.START_PENDING, accepted=opts.start_accepts, checkpoint=2, wait_hint=0)
            log(event="checkpoint", checkpoint=2)
        gate("start")
        with lock:
            if not stop_requested.is_set():
                st.set(State.RUNNING, accepted=accepts, checkpoint=hint[0], wait_hint=hint[1])
        if opts.behave == "bad-status":
            for bad in (0, 8, 0xFFFFFFFF):
                try:
                    with lock:
                        st.set(bad, accepted=accepts)
                    log(event="bad-state", state=bad, code=0)
                except ScmError as exc:
                    log(event="bad-state", state=bad, code=exc.winerror)
        if opts.behave == "detach":
            log(event="main-returned", name=name)
            return  # B57: ServiceMain returns without reporting STOPPED
        if opts.behave == "crash":
            gate("crash")
            log(event="crash", name=name)
            crash()
            return
        stopped.wait()

    if opts.behave == "bad-table":
        for bad in ({}, {"x": 5}):
            try:
                run(table=bad)  # type: ignore[arg-type]
                log(event="bad-table", code=0)
            except ScmError as exc:
                log(event="bad-table", code=exc.winerror)
    names = opts.name or ["svc"]
    try:
        run(table={n: service_main for n in names})
    except ScmError as exc:
        log(event="dispatcher-error", code=exc.winerror)
        return
    log(event="dispatcher-returned")
    time.sleep(0.2)  # the process's own cleanup after StartServiceCtrlDispatcher returned
    log(event="cleanup-done")


if __name__ == "__main__":
    main(sys.argv[1:])

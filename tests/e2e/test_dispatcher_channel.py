"""The service side of the portable protocol, spoken by hand from the SCM's end of the channel.

A real service process (``svcctl.svc.run``) gets one end of a socketpair as its channel; the
test is the SCM. This pins what the daemon relies on at shutdown: a control sent without an
``id`` is a notice (handled, never answered), and once the last service reported STOPPED at a
shutdown the process ends at once, its atexit handlers run, even while its ServiceMain thread
still has work to do (Windows may end a process any time after it reported STOPPED).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from svcctl import wire
from svcctl.types import Control, State
from tests.conftest import eventually

#: A ServiceMain that keeps working after reporting STOPPED, and logs what the handler saw.
_IMAGE = """
import atexit, sys, threading, time
from svcctl.svc import Dispatcher
from svcctl.types import Accept, State

out = sys.argv[1]
atexit.register(lambda: open(out + ".atexit", "w").close())
stop = threading.Event()

def handler(code, event_type, data):
    with open(out + ".controls", "a") as f:
        f.write(f"{code}\\n")
    if code in (1, 5):
        stop.set()
    return 0

def main(dispatcher, argv):
    st = dispatcher.register(argv[0], handler)
    st.set(State.RUNNING, accepted=int(Accept.STOP | Accept.SHUTDOWN))
    stop.wait()
    st.stop()
    time.sleep(30)  # never reached at shutdown: the process ends right after STOPPED
    open(out + ".after-stopped", "w").close()

Dispatcher({"probe": main}).run()
open(out + ".after-run", "w").close()
"""


#: A Service whose stop() does its own work and does not call super().stop(); run() is the default.
_OWN_STOP_IMAGE = """
import sys
from svcctl.svc import Service, run

out = sys.argv[1]


class Probe(Service):
    name = "probe"

    def stop(self):
        open(out + ".stopped-by-override", "w").close()


run(Probe)
"""


#: A Service with neither run() nor stop() of its own; ``slow-start`` makes start() wait for a
#: stop request (one the SCM sends while the service is START_PENDING).
_NO_RUN_IMAGE = """
import atexit, sys
from svcctl.svc import Service, run

out = sys.argv[1]
atexit.register(lambda: open(out + ".atexit", "w").close())


class Probe(Service):
    name = "probe"

    def start(self, args):
        if "slow-start" in sys.argv:
            assert self.stopping.wait(10)


run(Probe)
open(out + ".after-run", "w").close()
"""


class Scm:
    """The SCM's end of one service process's channel."""

    def __init__(self, tmp_path: Path, image: str = _IMAGE, *args: str) -> None:
        script = tmp_path / "image.py"
        script.write_text(image)
        self.out = tmp_path / "probe"
        self.sock, theirs = socket.socketpair()
        self.sock.settimeout(10)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.out), *args], pass_fds=(theirs.fileno(),),
            env={**os.environ, "SVCCTL_CHANNEL": f"fd:{theirs.fileno()}"},
        )
        theirs.close()
        self.dec = wire.Decoder()
        self.pending: list[dict] = []

    def send(self, msg: dict) -> None:
        self.sock.sendall(wire.encode(msg))

    def recv(self) -> dict | None:
        """The next message, or None at EOF (the process closed its end: it has ended)."""
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.pending = self.dec.feed(data)
        return self.pending.pop(0)

    def started(self) -> None:
        hello = self.recv()
        assert hello is not None and hello["op"] == "hello" and hello["services"] == ["probe"]
        self.send({"re": hello["id"], "e": 0})
        self.send({"id": 1, "op": "start", "name": "probe", "argv": ["probe"]})
        assert self.recv() == {"re": 1, "e": 0}
        while (status := self.recv()) is not None and status["s"][1] != State.RUNNING:
            assert status["op"] == "status" and status["s"][1] == State.START_PENDING

    def close(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_shutdown_notice_is_not_answered_and_the_process_ends_after_stopped(tmp_path):
    scm = Scm(tmp_path)
    try:
        scm.started()
        scm.send({"id": 2, "op": "control", "name": "probe", "code": int(Control.INTERROGATE)})
        assert scm.recv() == {"re": 2, "r": 0}  # a request is answered
        scm.send({"op": "control", "name": "probe", "code": int(Control.SHUTDOWN), "event": 0, "data": None})
        rest = []
        while (msg := scm.recv()) is not None:
            rest.append(msg)
        # Nothing answers the notice: the only message is STOPPED, then the process is gone.
        assert [m["op"] for m in rest] == ["status"], rest
        assert rest[0]["s"][1] == State.STOPPED
        assert scm.proc.wait(10) == 0
        assert (tmp_path / "probe.controls").read_text().split() == ["4", "5"]
        assert (tmp_path / "probe.atexit").exists()
        assert not (tmp_path / "probe.after-stopped").exists()
        assert not (tmp_path / "probe.after-run").exists()
    finally:
        scm.close()


def test_stop_request_is_answered_and_the_process_finishes_its_work(tmp_path):
    """Not a shutdown: STOP is answered, the dispatcher returns and the code after it runs; the
    ServiceMain thread's leftover work ends with the process, as its thread is a daemon."""
    scm = Scm(tmp_path)
    try:
        scm.started()
        scm.send({"id": 2, "op": "control", "name": "probe", "code": int(Control.STOP)})
        msgs = [scm.recv(), scm.recv()]
        assert {"re": 2, "r": 0} in msgs
        assert any(m is not None and m.get("op") == "status" and m["s"][1] == State.STOPPED for m in msgs)
        assert scm.proc.wait(10) == 0
        assert (tmp_path / "probe.after-run").exists()
        assert (tmp_path / "probe.atexit").exists()
        assert not (tmp_path / "probe.after-stopped").exists()
    finally:
        scm.close()


def test_an_overridden_stop_ends_the_default_run_without_calling_super(tmp_path):
    """stop() overridden without super().stop(), run() left as it is: once stop() returned, the
    service reports STOPPED (run() used to wait for ``stopping`` forever)."""
    scm = Scm(tmp_path, _OWN_STOP_IMAGE)
    try:
        scm.started()
        scm.send({"id": 2, "op": "control", "name": "probe", "code": int(Control.STOP)})
        states = []
        while (msg := scm.recv()) is not None:
            if msg.get("op") == "status":
                states.append(msg["s"][1])
        assert states == [State.STOP_PENDING, State.STOPPED]
        assert scm.proc.wait(10) == 0
        assert (tmp_path / "probe.stopped-by-override").exists()
    finally:
        scm.close()


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_without_run_servicemain_returns_and_the_handler_reports_stopped(tmp_path):
    """Seed 004: with no work of its own (run() not overridden), ServiceMain returns once RUNNING
    and the service stays RUNNING (B57); no thread waits. STOP then reports STOPPED from the
    handler itself, before the answer, and the process finishes as after any stop."""
    scm = Scm(tmp_path, _NO_RUN_IMAGE)
    try:
        scm.started()
        eventually(lambda: _threads(scm.proc.pid) == 1, 10, "only the dispatcher's thread left")
        scm.send({"id": 2, "op": "control", "name": "probe", "code": int(Control.INTERROGATE)})
        assert [scm.recv(), scm.recv()] == [
            {"op": "status", "name": "probe", "s": [16, int(State.RUNNING), 5, 0, 0, 0, 0]},
            {"re": 2, "r": 0},
        ]
        scm.send({"id": 3, "op": "control", "name": "probe", "code": int(Control.STOP)})
        rest = []
        while (msg := scm.recv()) is not None:
            rest.append(msg)
        assert rest == [{"op": "status", "name": "probe", "s": [16, int(State.STOPPED), 0, 0, 0, 0, 0]},
                        {"re": 3, "r": 0}]
        assert scm.proc.wait(10) == 0
        assert (tmp_path / "probe.after-run").exists()
        assert (tmp_path / "probe.atexit").exists()
    finally:
        scm.close()


def test_without_run_a_stop_during_start_ends_it_without_running(tmp_path):
    """A stop that comes while start() works: ServiceMain has not returned, so it is the one to
    report STOPPED once start() returned; RUNNING is never reported."""
    scm = Scm(tmp_path, _NO_RUN_IMAGE, "slow-start")
    try:
        hello = scm.recv()
        assert hello is not None
        scm.send({"re": hello["id"], "e": 0})
        scm.send({"id": 1, "op": "start", "name": "probe", "argv": ["probe"]})
        assert scm.recv() == {"re": 1, "e": 0}
        first = scm.recv()
        assert first is not None and first["s"][1] == State.START_PENDING
        scm.send({"id": 2, "op": "control", "name": "probe", "code": int(Control.STOP)})
        rest = []
        while (msg := scm.recv()) is not None:
            rest.append(msg)
        assert {"re": 2, "r": 0} in rest
        assert [m["s"][1] for m in rest if m.get("op") == "status"] == [State.STOPPED]
        assert scm.proc.wait(10) == 0
    finally:
        scm.close()

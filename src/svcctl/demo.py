"""``svcctl demo``: seed 000's walk, on a private daemon in a temporary ``$SVCCTL_HOME``.

It installs ``wmzwebpy`` (a native Python web service, below), then shows it just installed
(STOPPED, 1077), RUNNING and answering HTTP, PAUSED, RUNNING again, STOPPED, and deleted; and
what seed 000 found about plain programs: registered as a service, they fail with 1053.
"""

from __future__ import annotations

import http.server
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .cli.scformat import failure_block, query_block
from .errors import ScmError
from .mgr import Manager
from .mgr.portable import PortableBackend
from .svc import Accept, Service, run
from .types import StartType, State

SERVICE = "wmzwebpy"


class WebService(Service):
    """The seed's webmain.py as a native service: serves a page, 503 while paused."""

    name = SERVICE
    accepts = Accept.STOP | Accept.PAUSE_CONTINUE | Accept.SHUTDOWN

    def start(self, args: list[str]) -> None:
        port = int(args[args.index("--port") + 1]) if "--port" in args else 0
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paused = service.status is not None and service.status.state == State.PAUSED
                body = b"paused\n" if paused else b"hello from wmzwebpy\n"
                self.send_response(503 if paused else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        super().stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return f"HTTP {r.status}: {r.read().decode().strip()}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}: {e.read().decode().strip()}"


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _start_daemon(home: str) -> subprocess.Popen[bytes]:
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "svcctl", "serve", "--home", home, "--pipe-timeout", "3000", "--ready-fd", str(wfd)],
        pass_fds=(wfd,),
    )
    os.close(wfd)
    with os.fdopen(rfd) as ready:
        if ready.readline() != "ready\n":
            raise SystemExit(f"svcctl demo: the daemon did not start (exit {proc.wait()})")
    return proc


def walk(mgr: Manager) -> None:
    image = f"{shlex.quote(sys.executable)} -m svcctl.demo --service"
    _step(f'svcctl create {SERVICE} binpath= "{image}" start= auto displayname= "{SERVICE}"')
    svc = mgr.create_service(SERVICE, image, display_name=SERVICE, start_type=StartType.AUTO_START)
    svc.set_description("weimingzhen webpy example as service.")
    print("[SC] CreateService SUCCESS")
    _step(f"svcctl query {SERVICE}   (just installed)")
    print(query_block(SERVICE, svc.query()), end="")

    port = _free_port()
    _step(f"svcctl start {SERVICE} --port {port}")
    svc.start("--port", str(port))
    print(query_block(SERVICE, svc.query(), ex=True), end="")
    svc.wait(State.RUNNING, 15)
    print(f"GET http://127.0.0.1:{port}/ -> {_get(port)}")
    print(query_block(SERVICE, svc.query()), end="")

    _step(f"svcctl pause {SERVICE}")
    svc.pause()
    svc.wait(State.PAUSED, 15)
    print(f"GET http://127.0.0.1:{port}/ -> {_get(port)}")
    print(query_block(SERVICE, svc.query()), end="")

    _step(f"svcctl continue {SERVICE}")
    svc.continue_()
    svc.wait(State.RUNNING, 15)
    print(f"GET http://127.0.0.1:{port}/ -> {_get(port)}")

    _step(f"svcctl stop {SERVICE}")
    svc.stop()
    print(query_block(SERVICE, svc.wait(State.STOPPED, 15)), end="")

    _step(f"svcctl delete {SERVICE}")
    svc.delete()
    svc.close()
    print("[SC] DeleteService SUCCESS")
    _step(f"svcctl query {SERVICE}")
    try:
        mgr.open_service(SERVICE)
    except ScmError as exc:
        print(failure_block("EnumQueryServicesStatus:OpenService", exc.winerror), end="")

    sleeper = shutil.which("sleep") or "/bin/sleep"
    _step(f'svcctl create plainprog binpath= "{sleeper} 60"   (a plain program, as seed 000 tried)')
    plain = mgr.create_service("plainprog", f"{sleeper} 60")
    try:
        plain.start()
    except ScmError as exc:
        print(failure_block("StartService", exc.winerror), end="")
        print("A plain program never talks to the service controller: it needs a wrapper (srvany's job).")
    plain.delete()
    plain.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--service"]:
        run(WebService)
        return 0
    home = tempfile.mkdtemp(prefix="svcctl-demo-")
    print(f"svcctl demo: private daemon in SVCCTL_HOME={home}")
    daemon = _start_daemon(home)
    try:
        with Manager.connect(backend=PortableBackend.connect(home=Path(home))) as mgr:
            walk(mgr)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        shutil.rmtree(home, ignore_errors=True)
    print("\nsvcctl demo: done (daemon stopped, state directory removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

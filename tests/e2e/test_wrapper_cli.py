"""Seed 000 end to end with the wrapper's verbs: install, start, HTTP, logs, stop, debug.

The CLI runs as ``svcctl`` does (``main``) against the session's real daemon; the web app is
examples/webapp/webmain.py, a plain program that reads files relative to its directory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from svcctl.cmdline import split
from svcctl.types import State
from tests.conftest import eventually, retire

ROOT = Path(__file__).resolve().parents[2]
WEBMAIN = ROOT / "examples" / "webapp" / "webmain.py"


@pytest.fixture
def installed(cli, daemon, name, tmp_path, monkeypatch):
    """The web app installed with one command, from another directory, with relative paths."""
    port = _free_port()
    monkeypatch.chdir(tmp_path)
    code, text = cli("install", name, "--display", "Web py", "--stdout", "logs/out.log", "--stderr", "logs/err.log",
                     "--ready", f"tcp:127.0.0.1:{port}", "--", sys.executable, str(WEBMAIN), str(port))
    assert code == 0, text
    yield name, port, tmp_path / "logs"
    mgr = daemon.connect()
    try:
        retire(mgr.open_service(name))
    finally:
        mgr.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_processes(name: str) -> list[int]:
    """Every process on the machine whose environment says it belongs to the service."""
    marker = f"SVCCTL_SERVICE_NAME={name}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.append(int(entry))
    return found


def test_seed_scenario_install_start_http_logs_stop(cli, installed, daemon):
    name, port, logs = installed
    code, text = cli("start", name)
    assert code == 0, text
    mgr = daemon.connect()
    try:
        with mgr.open_service(name) as svc:
            st = svc.wait(State.RUNNING, 20)
        assert st.state is State.RUNNING
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
        assert "hello from webmain.py" in body
        eventually(lambda: "listening" in (logs / "out.log").read_text(), 10, "stdout in its log")
        eventually(lambda: "GET / HTTP" in (logs / "err.log").read_text(), 10, "stderr in its log")
        assert _service_processes(name) == [st.pid]
        code, text = cli("status", name)
        assert f"program:     {sys.executable} {WEBMAIN} {port}" in text and f"stdout {logs}/out.log" in text
        code, text = cli("stop", name)
        assert code == 0, text
        with mgr.open_service(name) as svc:
            assert svc.wait(State.STOPPED, 20).win32_exit_code == 0
    finally:
        mgr.disconnect()
    assert _service_processes(name) == []
    assert "webmain stopping" in (logs / "out.log").read_text()  # it got SIGINT, not SIGKILL


def test_debug_reproduces_a_wrong_directory_in_the_foreground(cli, installed, daemon, monkeypatch):
    """Seed 000's trap: started elsewhere, the program cannot find templates/. The service
    says so (exit code and stderr in status and events), and `svcctl debug` shows it live."""
    name, _port, _ = installed
    assert cli("set", name, "AppDirectory", "/tmp")[0] == 0
    assert cli("start", name)[0] == 0
    mgr = daemon.connect()
    try:
        with mgr.open_service(name) as svc:
            st = svc.wait(State.STOPPED, 20)
    finally:
        mgr.disconnect()
    assert (st.win32_exit_code, st.service_exit_code) == (1066, 1)
    _code, text = cli("status", name)
    assert "FileNotFoundError" in text and "templates/index.html" in text and "working directory /tmp" in text
    env = dict(os.environ, SVCCTL_HOME=str(daemon.home))
    proc = subprocess.run([sys.executable, "-m", "svcctl", "debug", name], capture_output=True, text=True,
                          env=env, timeout=30, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert "FileNotFoundError" in proc.stderr and "templates/index.html" in proc.stderr
    assert "directory: /tmp" in proc.stdout and "exited with code 1" in proc.stdout


def test_set_get_reset_and_dump_recreates_the_service(cli, installed, daemon):
    name, _, _ = installed
    assert cli("set", name, "AppRotateBytes", "1048576")[0] == 0
    assert cli("set", name, "AppEnvironmentExtra", "A=1", "B=two words")[0] == 0
    assert cli("set", name, "AppExit", "3", "Exit")[0] == 0
    assert cli("get", name, "AppRotateBytes") == (0, "1048576\n")
    assert cli("get", name, "appenvironmentextra") == (0, "A=1\nB=two words\n")
    assert cli("get", name, "AppExit", "3") == (0, "Exit\n")
    assert cli("get", name, "AppExit") == (0, "Restart\n")
    assert cli("set", name, "AppRotateBytes", "lots")[0] == 87
    assert cli("set", name, "NoSuchKey", "1")[0] == 87
    assert cli("reset", name, "AppRotateBytes")[0] == 0
    assert cli("get", name, "AppRotateBytes") == (0, "0\n")
    assert cli("set", name, "AppRotateBytes", "4096")[0] == 0
    mgr = daemon.connect()
    try:
        before = mgr.reg_get(f"Services\\{name}")
        code, dump = cli("dump", name)
        assert code == 0
        with mgr.open_service(name) as svc:
            svc.delete()
        for line in dump.splitlines():
            argv = split(line)
            assert argv[0] == "svcctl"
            code, text = cli(*argv[1:])
            assert code == 0, (line, text)
        after = mgr.reg_get(f"Services\\{name}")
    finally:
        mgr.disconnect()
    assert after["Parameters"] == before["Parameters"] and after["Parameters\\AppExit"] == before["Parameters\\AppExit"]
    assert after[""]["DisplayName"] == before[""]["DisplayName"]


def test_install_refuses_bad_input_with_win32_codes(cli, name):
    assert cli("install", name, "--", "/no/such/program")[0] == 3
    assert cli("install", name, "--", "/bin/no-such-program")[0] == 2
    assert cli("install", name, "--start", "sometimes", "--", "/bin/sleep", "1")[0] == 1639
    assert cli("install", name, "--ready", "ftp://x", "--", "/bin/sleep", "1")[0] == 87
    assert cli("install", name)[0] == 1639
    assert cli("set", name, "AppDirectory", "/tmp")[0] == 1060
    code, text = cli("install", "--help")
    assert code == 0 and "--stdout FILE" in text


def test_rotate_verb_rotates_the_logs(cli, installed, daemon):
    name, _port, logs = installed
    assert cli("start", name)[0] == 0
    mgr = daemon.connect()
    try:
        with mgr.open_service(name) as svc:
            svc.wait(State.RUNNING, 20)
        eventually(lambda: (logs / "out.log").exists() and (logs / "out.log").stat().st_size > 0, 10, "output")
        assert cli("rotate", name)[0] == 0
        rotated = eventually(lambda: list(logs.glob("out-*.log")), 10, "the rotated log")
        assert "listening" in rotated[0].read_text()
    finally:
        mgr.disconnect()

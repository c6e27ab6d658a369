"""svcctl's friendly verbs: list, status (with why it last stopped), completion, --help."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from svcctl.cli.main import main
from tests.conftest import SVCHOST, eventually


def test_list_and_status_explain_a_failed_service(cli, name, hostlog):
    binpath = f"{sys.executable} {SVCHOST} --log {hostlog.path} --behave exit-code --code 42"
    assert cli("create", name, "binpath=", binpath, "displayname=", f"Nice {name}")[0] == 0
    try:
        cli("start", name)
        eventually(lambda: "RUNNING" in cli("query", name)[1], 15, "running")
        code, out = cli("list")
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert row.split()[:5] == [name, "Nice", name, "RUNNING", "demand"]  # display name has a space
        listed = {r["name"]: r for r in json.loads(cli("list", "--json")[1])}
        assert listed[name]["pid"] > 0 and listed[name]["uptime_seconds"] is not None
        cli("stop", name)
        eventually(lambda: "STOPPED" in cli("query", name)[1], 15, "stopped")
        code, out = cli("status", name)
        assert code == 0
        assert "last stop:   the service reported its own error code 42 (1066)" in out
        assert "7024" in out  # the event that recorded the service-specific error
        data = json.loads(cli("status", name, "--json")[1])
        assert (data["win32_exit_code"], data["service_exit_code"]) == (1066, 42)
    finally:
        cli("delete", name)


def test_status_of_missing_service(cli, name):
    code, out = cli("status", name)
    assert code == 1060 and "does not exist" in out


def test_completion_and_help():
    out = io.StringIO()
    assert main(["completion", "bash"], out=out) == 0
    script = out.getvalue()
    assert "complete -F _svcctl svcctl" in script and "qfailureflag" in script
    checked = subprocess.run(["bash", "-n"], input=script, text=True)
    assert checked.returncode == 0
    out = io.StringIO()
    assert main(["qc", "--help"], out=out) == 0 and "USAGE:" in out.getvalue()
    out = io.StringIO()
    assert main(["--help"], out=out) == 0 and "friendly:" in out.getvalue()

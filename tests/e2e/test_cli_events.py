"""``svcctl events``: the daemon's event log from the command line, and its bounded retention."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from svcctl.cli.events import parse_since
from svcctl.cli.main import main
from svcctl.scm.database import Database
from svcctl.scm.events import EventLog
from tests.conftest import eventually


def run(daemon, monkeypatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SVCCTL_HOME", str(daemon.home))
    monkeypatch.delenv("SVCCTL_BACKEND", raising=False)
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def test_events_for_a_service_text_and_json(daemon, monkeypatch, name):
    assert run(daemon, monkeypatch, "create", name, "binpath=", "/bin/true")[0] == 0
    assert run(daemon, monkeypatch, "config", name, "start=", "auto")[0] == 0
    try:
        code, out = run(daemon, monkeypatch, "events", name)
        lines = out.splitlines()
        assert code == 0 and len(lines) == 2
        assert "  7045  info   " in lines[0] and f"Service Name:  {name}" in lines[0]
        assert f"The start type of the {name} service was changed from DEMAND_START to AUTO_START." in lines[1]
        rows = [json.loads(line) for line in run(daemon, monkeypatch, "events", name, "--json")[1].splitlines()]
        assert [r["event_id"] for r in rows] == [7045, 7040] and rows[0]["service"] == name
        assert run(daemon, monkeypatch, "events", name, "--since", "1h")[1] == out
        assert run(daemon, monkeypatch, "events", name, "--since", "2999-01-01")[1] == ""
        code, out = run(daemon, monkeypatch, "events", "--since", "yesterday-ish")
        assert code == 1639 and "usage:" in out
    finally:
        run(daemon, monkeypatch, "delete", name)


def test_follow_prints_new_events_as_they_happen(daemon, name):
    env = dict(os.environ, SVCCTL_HOME=str(daemon.home))
    follower = subprocess.Popen(
        [sys.executable, "-m", "svcctl", "events", name, "--follow", "--json"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        with daemon.connect() as m:
            # created before or after the follower reads the log: either way it prints the 7045 event
            svc = m.create_service(name, "/bin/true")
            assert follower.stdout is not None
            line = eventually(follower.stdout.readline, 15, "the followed event")
            assert json.loads(line)["event_id"] == 7045
            svc.delete()
            svc.close()
    finally:
        follower.kill()
        follower.wait()


def test_parse_since():
    assert parse_since("90s", 1000.0) == 910.0
    assert parse_since("2h", 10_000.0) == 10_000.0 - 7200
    assert parse_since("1700000000", 0) == 1_700_000_000


def test_retention_is_bounded():
    db = Database(":memory:")
    log = EventLog(db, lambda fn: None, keep=10)
    for i in range(25):
        log.write(7036, f"s{i}", f"s{i}", "running")
    log.flush()
    rows = log.read(limit=100)
    assert len(rows) == 10 and rows[0].service == "s15" and rows[-1].service == "s24"

"""The TWAPI-shaped layers (seed 003): manager commands and run_as_service/update_service_status,
on the in-process SCM (TWAPI functions connect with the default backend, set here to memory)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import twapi

IMAGE = Path(__file__).with_name("twapi_image.py")


@pytest.fixture(autouse=True)
def memory_backend(monkeypatch):
    monkeypatch.setenv("SVCCTL_BACKEND", "memory")


def test_create_configure_and_walk(tmp_path, name):
    log = tmp_path / "twapi.log"
    twapi.create_service(name, f"{sys.executable} {IMAGE} {log}", displayname=f"TW {name}",
                         starttype="demand_start", dependencies=[])
    try:
        assert twapi.service_exists(name) and twapi.service_exists(f"TW {name}")
        assert twapi.get_service_internal_name(f"TW {name}") == name
        assert twapi.get_service_display_name(name) == f"TW {name}"
        assert twapi.get_service_state(name) == "stopped"
        assert twapi.get_service_status(name)["pid"] == -1
        twapi.set_service_description(name, "described")
        twapi.set_service_configuration(name, starttype="auto_start", errorcontrol="severe")
        cfg = twapi.get_service_configuration(name, "-all")
        assert (cfg["-starttype"], cfg["-errorcontrol"], cfg["-description"]) == ("auto_start", "severe", "described")
        twapi.set_service_failure_actions(name, actions=[("restart", 1000), ("run", 0)], command="notify.sh")
        fa = twapi.get_service_configuration(name, "-failureactions")["-failureactions"]
        assert fa == {"-resetperiod": 0xFFFFFFFF, "-rebootmsg": "", "-command": "notify.sh",
                      "-actions": [["restart", 1000], ["run", 0]]}

        assert twapi.start_service(name, "hello", wait=10000) is True
        status = twapi.get_service_status(name)
        assert status["state"] == "running" and status["pid"] > 0
        assert twapi.pause_service(name, wait=10000) is True
        assert twapi.continue_service(name, wait=10000) is True
        rows = twapi.get_multiple_service_status(types=["win32_own_process"], active=True)
        assert name in {r["name"] for r in rows}
        assert twapi.stop_service(name, wait=10000) is True
        final = twapi.get_service_status(name)
        assert (final["exitcode"], final["service_code"]) == (1066, 7)  # the app said so in update_service_status
        events = [line.split()[0] for line in log.read_text().splitlines()]
        assert events == ["start", "pause", "continue", "stop"]
        assert log.read_text().splitlines()[0].split()[1:] == ["hello"]
    finally:
        twapi.delete_service(name)
    assert not twapi.service_exists(name)


def test_unknown_service_raises_1060(name):
    with pytest.raises(ScmError) as e:
        twapi.get_service_status(name)
    assert e.value.winerror == 1060

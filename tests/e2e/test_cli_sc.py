"""sc.exe compatibility of the svcctl command (issue 3): formats of spec section 2 and seed 000's
transcripts, byte for byte, and exit codes. Expected texts are written from the spec, not
captured from svcctl."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from svcctl.cli.main import main
from tests.conftest import SVCHOST

SEED_CREATE = 'svcctl create wmzwebpy binpath= "c:\\webpy\\srvany.exe" type= share start= auto displayname= "wmzwebpy"'
NOT_FOUND = "The specified service does not exist as an installed service."


@pytest.fixture
def sc(daemon, monkeypatch):
    monkeypatch.setenv("SVCCTL_HOME", str(daemon.home))
    monkeypatch.delenv("SVCCTL_SC_STYLE", raising=False)
    monkeypatch.delenv("SVCCTL_BACKEND", raising=False)

    def run(*args: str, style: str | None = None) -> tuple[int, str]:
        if style:
            monkeypatch.setenv("SVCCTL_SC_STYLE", style)
        else:
            monkeypatch.delenv("SVCCTL_SC_STYLE", raising=False)
        out = io.StringIO()
        code = main(list(args), out=out)
        return code, out.getvalue()

    return run


@pytest.fixture
def web(sc, hostlog):
    """A runnable own-process service named like the seed's, removed afterwards."""
    binpath = f"{sys.executable} {SVCHOST} --log {hostlog.path}"
    assert sc("create", "wmzwebpy", "binpath=", binpath, "displayname=", "wmzwebpy") == (
        0, "[SC] CreateService SUCCESS\n")
    yield "wmzwebpy"
    sc("stop", "wmzwebpy")
    sc("delete", "wmzwebpy")


def block(state: str, controls: str | None, win32: str = "0  (0x0)", type_: str = "10  WIN32_OWN_PROCESS",
          checkpoint: str = "0x0", wait_hint: str = "0x0", name: str = "wmzwebpy") -> str:
    lines = ["", f"SERVICE_NAME: {name}",
             f"        TYPE               : {type_}",
             f"        STATE              : {state}"]
    if controls:
        lines.append(" " * 32 + controls)
    lines += [f"        WIN32_EXIT_CODE    : {win32}",
              "        SERVICE_EXIT_CODE  : 0  (0x0)",
              f"        CHECKPOINT         : {checkpoint}",
              f"        WAIT_HINT          : {wait_hint}", "", ""]
    return "\n".join(lines)


def seed_block(text: str) -> str:
    """A query block as seed 000 prints it (its code block, de-indented), framed like sc output."""
    lines = [line[4:] if line.startswith("    ") else line for line in text.strip("\n").splitlines()]
    return "\n" + "\n".join(lines) + "\n\n"


SEED_RUNNING = """
    SERVICE_NAME: wmzwebpy
            TYPE               : 10  WIN32_OWN_PROCESS
            STATE              : 4  RUNNING
                                    (STOPPABLE,PAUSABLE,ACCEPTS_SHUTDOWN)
            WIN32_EXIT_CODE    : 0  (0x0)
            SERVICE_EXIT_CODE  : 0  (0x0)
            CHECKPOINT         : 0x0
            WAIT_HINT          : 0x0
"""
SEED_PAUSED = SEED_RUNNING.replace("4  RUNNING", "7  PAUSED")
SEED_STOPPED = SEED_RUNNING.replace("4  RUNNING", "1  STOPPED").replace(
    "(STOPPABLE,PAUSABLE,ACCEPTS_SHUTDOWN)", "(NOT_STOPPABLE,NOT_PAUSABLE,IGNORES_SHUTDOWN)")
SEED_INSTALLED = SEED_STOPPED.replace("0  (0x0)\n            SERVICE", "1077       (0x435)\n            SERVICE")


def wait_state(sc, name: str, word: str) -> None:
    from tests.conftest import eventually

    eventually(lambda: word in sc("query", name)[1], 15, f"{name} {word}")


def test_seed_command_lines_verbatim(daemon):
    """Seed 000's sc lines, through a shell, with svcctl in place of sc."""
    env = {"SVCCTL_HOME": str(daemon.home), "PATH": f"{sys.exec_prefix}/bin:/usr/bin:/bin"}
    run = lambda cmd: subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True)  # noqa: E731
    r = run(SEED_CREATE)
    assert (r.returncode, r.stdout, r.stderr) == (0, "[SC] CreateService SUCCESS\n", "")
    r = run("svcctl qc wmzwebpy")
    assert "BINARY_PATH_NAME   : c:\\webpy\\srvany.exe\n" in r.stdout
    assert "TYPE               : 20  WIN32_SHARE_PROCESS\n" in r.stdout
    assert "START_TYPE         : 2   AUTO_START\n" in r.stdout
    r = run("svcctl delete wmzwebpy")
    assert (r.returncode, r.stdout) == (0, "[SC] DeleteService SUCCESS\n")
    r = run("svcctl query wmzwebpy")
    assert r.stdout == f"[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\n{NOT_FOUND}\n\n"
    assert r.returncode == 1060 % 256  # POSIX keeps the low byte of the Win32 code


def test_seed_transcripts_legacy_style(sc, web):
    """Seed 000's four query blocks, identical in the XP-era layout it shows."""
    assert sc("query", web, style="legacy") == (0, seed_block(SEED_INSTALLED))
    sc("start", web)
    wait_state(sc, web, "RUNNING")
    assert sc("query", web, style="legacy") == (0, seed_block(SEED_RUNNING))
    sc("pause", web)
    wait_state(sc, web, "PAUSED")
    assert sc("query", web, style="legacy") == (0, seed_block(SEED_PAUSED))
    sc("continue", web)
    wait_state(sc, web, "RUNNING")
    sc("stop", web)
    wait_state(sc, web, "STOPPED")
    assert sc("query", web, style="legacy") == (0, seed_block(SEED_STOPPED))


def test_modern_query_blocks(sc, web):
    """Spec 2.2: no controls line when STOPPED, two spaces before texts, lower-case hex."""
    assert sc("query", web) == (0, block("1  STOPPED", None, win32="1077  (0x435)"))
    code, out = sc("start", web)
    assert code == 0
    pid = re.search(r"PID                : (\d+)\n", out)
    assert pid and int(pid.group(1)) > 0
    assert out.endswith(f"        PID                : {pid.group(1)}\n        FLAGS              : \n\n")
    # queried right after StartService: typically START_PENDING, a quick service may be RUNNING
    assert re.match(r"\nSERVICE_NAME: wmzwebpy\n        TYPE               : 10  WIN32_OWN_PROCESS\n"
                    r"        STATE              : (2  START_PENDING|4  RUNNING)\n", out)
    wait_state(sc, web, "RUNNING")
    assert sc("query", web) == (0, block("4  RUNNING", "(STOPPABLE, PAUSABLE, ACCEPTS_SHUTDOWN)"))
    code, out = sc("stop", web)
    # B67: as last reported, typically STOP_PENDING, sometimes already STOPPED
    assert code == 0 and re.search(r"        STATE              : (3  STOP_PENDING|1  STOPPED)\n", out)
    wait_state(sc, web, "STOPPED")
    assert sc("query", web) == (0, block("1  STOPPED", None))


def test_control_errors_and_user_codes(sc, web):
    assert sc("stop", web) == (1062, "[SC] ControlService FAILED 1062:\n\nThe service has not been started.\n\n")
    sc("start", web)
    wait_state(sc, web, "RUNNING")
    assert sc("control", web, "200")[0] == 0
    assert sc("control", web, "paramchange")[0] == 0
    assert sc("interrogate", web)[0] == 0
    code, out = sc("control", web, "127")
    assert code == 1639 and "USAGE:" in out
    assert sc("start", web)[1] == (
        "[SC] StartService FAILED 1056:\n\nAn instance of the service is already running.\n\n")


def test_start_and_open_failures(sc, name):
    assert sc("start", name) == (
        1060, f"[SC] StartService: OpenService FAILED 1060:\n\n{NOT_FOUND}\n\n")
    assert sc("stop", name) == (1060, f"[SC] OpenService FAILED 1060:\n\n{NOT_FOUND}\n\n")
    sc("create", name, "binpath=", "/bin/true", "start=", "disabled")
    try:
        assert sc("start", name)[1].startswith("[SC] StartService FAILED 1058:\n\n")
        assert sc("create", name, "binpath=", "/bin/true") == (
            1073, "[SC] CreateService FAILED 1073:\n\nThe specified service already exists.\n\n")
    finally:
        assert sc("delete", name) == (0, "[SC] DeleteService SUCCESS\n")


def test_qc_layout_with_dependencies_and_delayed_start(sc, name):
    """Spec 2.5: value columns, DEPENDENCIES continuation lines, (DELAYED)."""
    assert sc("create", name, "binPath=", "/usr/bin/x --flag", "start=", "delayed-auto", "error=", "severe",
              "group=", "grp", "tag=", "yes", "depend=", "alpha/beta/+netgroup", "obj=", ".\\nobody",
              "DisplayName=", "Pretty Name")[0] == 0
    try:
        assert sc("qc", name) == (0, "\n".join([
            "[SC] QueryServiceConfig SUCCESS",
            "",
            f"SERVICE_NAME: {name}",
            "        TYPE               : 10  WIN32_OWN_PROCESS",
            "        START_TYPE         : 2   AUTO_START  (DELAYED)",
            "        ERROR_CONTROL      : 2   SEVERE",
            "        BINARY_PATH_NAME   : /usr/bin/x --flag",
            "        LOAD_ORDER_GROUP   : grp",
            "        TAG                : 1",
            "        DISPLAY_NAME       : Pretty Name",
            "        DEPENDENCIES       : alpha",
            "                           : beta",
            "                           : +netgroup",
            "        SERVICE_START_NAME : .\\nobody",
            "",
        ]))
        assert sc("getdisplayname", name) == (0, "[SC] GetServiceDisplayName SUCCESS\nName = Pretty Name\n")
        assert sc("getkeyname", "Pretty Name") == (0, f"[SC] GetServiceKeyName SUCCESS\nName = {name}\n")
    finally:
        sc("delete", name)


def test_failure_and_description_round_trip(sc, name):
    """Spec 2.6-2.7: the MS-dotnet transcript before and after `sc failure`."""
    sc("create", name, "binpath=", "/bin/true")
    head = f"[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: {name}\n"
    try:
        assert sc("qfailure", name) == (0, head + "        RESET_PERIOD (in seconds)    : 0\n"
                                        "        REBOOT_MESSAGE               : \n"
                                        "        COMMAND_LINE                 : \n")
        assert sc("failure", name, "reset=", "0", "actions=", "restart/60000/restart/60000/run/1000") == (
            0, "[SC] ChangeServiceConfig2 SUCCESS\n")
        assert sc("qfailure", name)[1] == head + (
            "        RESET_PERIOD (in seconds)    : 0\n"
            "        REBOOT_MESSAGE               : \n"
            "        COMMAND_LINE                 : \n"
            "        FAILURE_ACTIONS              : RESTART -- Delay = 60000 milliseconds.\n"
            "                                       RESTART -- Delay = 60000 milliseconds.\n"
            "                                       RUN PROCESS -- Delay = 1000 milliseconds.\n")
        code, out = sc("failure", name, "actions=", "restart/1")
        assert code == 1639 and out.startswith("ERROR:  The reset and actions options must be used simultaneously.")
        assert sc("failureflag", name, "1") == (0, "[SC] ChangeServiceConfig2 SUCCESS\n")
        assert sc("qfailureflag", name) == (0, head + "        FAILURE_ACTIONS_ON_NONCRASH_FAILURES: 1\n")
        assert sc("qdescription", name) == (0, head + "DESCRIPTION:  \n")
        assert sc("description", name, "weimingzhen", "webpy") == (0, "[SC] ChangeServiceConfig2 SUCCESS\n")
        assert sc("qdescription", name) == (0, head + "DESCRIPTION:  weimingzhen webpy\n")
    finally:
        sc("delete", name)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["create", "x1"], 1639),  # binPath= is mandatory
        (["create", "x1", "binpath=", "/bin/true", "start=", "sometimes"], 1639),
        (["create", "x1", "binpath=", "/bin/true", "type=", "weird"], 1639),
        (["create", "x1", "binpath="], 1639),
        (["create", "x1", "binpath=", "/bin/true", "type=", "interact"], 87),  # W-sct: 87, not 1639
        (["create", "x1", "binpath=", "/bin/true", "tag=", "yes"], 87),  # B22
        (["create", "x1", "binpath=", "/bin/true", "depend=", "x1"], 1059),  # B30
        (["bogus"], 1639),
        (["query", "a", "b"], 1639),
    ],
)
def test_syntax_and_validation_exit_codes(sc, args, code):
    got, out = sc(*args)
    assert got == code
    if code == 1639:
        assert "USAGE:" in out
    else:
        assert out.startswith(f"[SC] CreateService FAILED {code}:\n\n")
    sc("delete", "x1")


def test_key_equals_value_and_case_insensitive_keywords(sc, name):
    assert sc("CREATE", name, "BinPath=/bin/true", "START=", "AUTO", "Type=Own")[0] == 0
    try:
        assert "START_TYPE         : 2   AUTO_START\n" in sc("qc", name)[1]
    finally:
        sc("delete", name)


def test_enumeration_with_group_bufsize_and_resume(sc):
    names = ["enumA", "enumB", "enumC"]
    for n in names:
        sc("create", n, "binpath=", "/bin/true", "group=", "enumgrp", "displayname=", f"Enum {n}")
    try:
        code, out = sc("query", "state=", "all", "group=", "enumgrp")
        assert code == 0
        expected = "".join(block("1  STOPPED", None, win32="1077  (0x435)", name=n).replace(
            f"SERVICE_NAME: {n}\n", f"SERVICE_NAME: {n}\nDISPLAY_NAME: Enum {n}\n") for n in names)
        assert out == expected
        one = 44 + 2 * (len("enumA") + 1) + 2 * (len("Enum enumA") + 1)  # ENUM_SERVICE_STATUSW + strings
        code, out = sc("query", "state=", "all", "group=", "enumgrp", "bufsize=", str(one))
        assert code == 234 and out.count("SERVICE_NAME:") == 1
        assert out.endswith(f"Enum: more data, need {2 * one} bytes start resume at index 1\n")
        code, out = sc("query", "state=", "all", "group=", "enumgrp", "ri=", "2")
        assert re.findall(r"SERVICE_NAME: (\w+)", out) == ["enumC"]
        assert sc("query", "state=", "active", "group=", "enumgrp") == (0, "")
    finally:
        for n in names:
            sc("delete", n)


def test_remote_server_is_unavailable(sc):
    expected = "[SC] OpenSCManager FAILED 1722:\n\nThe RPC server is unavailable.\n\n"
    assert sc("\\\\faraway", "query", "x") == (1722, expected)


def test_long_names_keep_alignment(sc):
    long = "L" * 256
    assert sc("create", long, "binpath=", "/bin/true")[0] == 0
    try:
        assert sc("query", long) == (0, block("1  STOPPED", None, win32="1077  (0x435)", name=long))
    finally:
        sc("delete", long)


def test_json_output(sc, web):
    import json

    code, out = sc("query", web, "--json")
    data = json.loads(out)
    assert code == 0 and data["state"] == "STOPPED" and data["win32_exit_code"] == 1077
    assert json.loads(sc("qc", web, "--json")[1])["display_name"] == "wmzwebpy"


def test_sdshow_prints_the_default_descriptor(sc, web):
    code, out = sc("sdshow", web)
    assert code == 0 and out.startswith("\nD:(A;;CCLCSWRPWPDTLOCRRC;;;SY)") and "(A;;CCLCSWLOCRRC;;;IU)" in out

"""Service accounts (B146, issue 8 item 4): the process really runs as the account.

The daemon runs as root; the accounts are Unix users and groups created for the test, a virtual
``NT SERVICE\\<name>`` account, and ``nobody`` for LocalService. What a process runs as is read
from /proc and from what the program itself prints, never from the daemon's claims.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from pathlib import Path

import pytest

from svcctl.accounts import VIRTUAL_UID_BASE, VIRTUAL_UID_COUNT
from svcctl.cli.main import main
from svcctl.errors import ScmError
from svcctl.regvalue import REG_EXPAND_SZ
from svcctl.types import State
from svcctl.wrapper import wrapper_image_path
from tests.conftest import eventually, retire

SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="switching accounts needs a root daemon"),
    pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason=f"needs {SYSTEM_PYTHON} for other accounts"),
]

NATIVE = Path(__file__).resolve().parents[2] / "bench" / "native_service.py"


@pytest.fixture
def unix_user():
    """A Unix user in a group of its own plus one supplementary group, removed afterwards."""
    tag = uuid.uuid4().hex[:6]
    user, extra = f"svct{tag}", f"svctg{tag}"
    subprocess.run(["groupadd", extra], check=True)
    subprocess.run(["useradd", "--no-create-home", "--home-dir", f"/nonexistent/{user}", "--shell", "/bin/sh",
                    "--groups", extra, "--user-group", user], check=True)
    try:
        yield pwd.getpwnam(user), extra
    finally:
        subprocess.run(["userdel", user], check=False)
        subprocess.run(["groupdel", extra], check=False)


def _running(pid: int, program: str) -> int:
    """``pid`` once it runs ``program`` (a cgroup joiner and setpriv may come first, same pid)."""
    eventually(lambda: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(program.encode()),
               10, f"{program} to run")
    return pid


def _ids(pid: int) -> dict[str, list[int]]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            fields[key] = [int(v) for v in value.split()]
    return fields


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _wrap(mgr, name, account, out: Path, program: str, *args: str) -> None:
    mgr.create_service(name, wrapper_image_path(), account=account).close()
    mgr.reg_set(f"Services\\{name}\\Parameters", {
        "Application": (REG_EXPAND_SZ, program), "AppParameters": (REG_EXPAND_SZ, " ".join(args)),
        "AppStdout": (REG_EXPAND_SZ, str(out)), "AppDirectory": (REG_EXPAND_SZ, "/"),
    })


def test_b146_user_account_runs_with_its_uid_gid_groups_and_home(daemon, name, unix_user, tmp_path):
    entry, extra = unix_user
    out = tmp_path / "id.log"
    with daemon.connect() as mgr:
        _wrap(mgr, name, f".\\{entry.pw_name}", out, "/bin/sleep", "60")
        try:
            with mgr.open_service(name) as svc:
                svc.start()
                pid = _running(svc.wait(State.RUNNING, 15).pid, "sleep")
            ids = _ids(pid)
            extra_gid = int(subprocess.run(["getent", "group", extra], capture_output=True, text=True,
                                           check=True).stdout.split(":")[2])
            assert ids["Uid"] == [entry.pw_uid] * 4 and ids["Gid"] == [entry.pw_gid] * 4
            assert set(ids["Groups"]) == {entry.pw_gid, extra_gid}
            env = _environ(pid)
            assert env["HOME"] == entry.pw_dir and env["USER"] == entry.pw_name
            stat = out.stat()
            assert (stat.st_uid, stat.st_mode & 0o077) == (entry.pw_uid, 0)  # its log: its own, nobody else's
        finally:
            retire(mgr.open_service(name))


def test_b146_virtual_account_is_a_uid_of_its_own(daemon, name, tmp_path):
    out = tmp_path / "id.log"
    with daemon.connect() as mgr:
        _wrap(mgr, name, f"NT SERVICE\\{name}", out, "/usr/bin/id")
        try:
            with mgr.open_service(name) as svc:
                svc.start()
            text = eventually(lambda: out.exists() and out.read_text(), 15, "id's output")
            uid = int(text.split("uid=")[1].split("(")[0].split()[0])
            assert VIRTUAL_UID_BASE <= uid < VIRTUAL_UID_BASE + VIRTUAL_UID_COUNT
            assert out.stat().st_uid == uid
        finally:
            retire(mgr.open_service(name))


def test_b146_native_service_runs_as_local_service(daemon, name):
    # nobody may not execute this checkout's interpreter (root's pyenv): the system one will do
    image = f"/usr/bin/env PYTHONPATH={NATIVE.parents[1] / 'src'} {SYSTEM_PYTHON} {NATIVE}"
    with daemon.connect() as mgr:
        mgr.create_service(name, image, account="NT AUTHORITY\\LocalService").close()
        try:
            with mgr.open_service(name) as svc:
                svc.start()
                pid = svc.wait(State.RUNNING, 15).pid
            assert _ids(pid)["Uid"][0] == pwd.getpwnam("nobody").pw_uid
        finally:
            retire(mgr.open_service(name))


@pytest.mark.parametrize("account", [".\\no_such_user_here", "SOMEDOMAIN\\nobody", "NT SERVICE\\", "nosuchuser"])
def test_b146_nonexistent_account_is_refused_with_1057(daemon, name, account):
    with daemon.connect() as mgr:
        with pytest.raises(ScmError) as e:
            mgr.create_service(name, "/bin/true", account=account)
        assert e.value.winerror == 1057
        assert not mgr.exists(name)


def test_install_defaults_to_its_own_virtual_account(daemon, name, monkeypatch, tmp_path):
    import io

    monkeypatch.setenv("SVCCTL_HOME", str(daemon.home))
    out = io.StringIO()
    assert main(["install", name, "--", "/bin/sleep", "60"], out=out) == 0
    assert f"account: NT SERVICE\\{name}" in out.getvalue()
    with daemon.connect() as mgr:
        try:
            with mgr.open_service(name) as svc:
                assert svc.config().service_start_name == f"NT SERVICE\\{name}"
                svc.start()
                pid = _running(svc.wait(State.RUNNING, 15).pid, "sleep")
            assert _ids(pid)["Uid"][0] >= VIRTUAL_UID_BASE
        finally:
            retire(mgr.open_service(name))

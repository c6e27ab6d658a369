"""Access from the first day (issue 2 item 7): peer credentials decide, B140/B141 defaults.

The daemon runs as root here; clients run as real unprivileged Unix users (setuid children).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.conftest import SVCHOST, Daemon

# The unprivileged clients need an interpreter they may execute; the library is stdlib-only,
# so the system Python with src/ on its path is enough.
USER_PYTHON = "/usr/bin/python3"
SRC = Path(__file__).resolve().parents[2] / "src"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other Unix users"),
    pytest.mark.skipif(not os.path.exists(USER_PYTHON), reason=f"needs {USER_PYTHON} for unprivileged clients"),
]

NOBODY = 65534
NOGROUP = 65534
OTHER_GROUP = 1  # "daemon": not the socket's group

CLIENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from svcctl.errors import ScmError
    from svcctl.mgr import Manager
    from svcctl.mgr.portable import PortableBackend
    from svcctl.types import ScmAccess, ServiceAccess, MAXIMUM_ALLOWED

    home, name = Path(sys.argv[1]), sys.argv[2]
    out = {}

    def attempt(key, fn):
        try:
            r = fn()
            out[key] = ["ok", r]
        except ScmError as e:
            out[key] = ["err", e.winerror]

    try:
        backend = PortableBackend.connect(home=home)
    except ScmError as e:
        print(json.dumps({"connect": ["err", e.winerror]}))
        sys.exit(0)
    call = backend.call
    attempt("open_scm_all", lambda: call("open_scm", access=int(ScmAccess.ALL_ACCESS)))
    scm = call("open_scm", access=MAXIMUM_ALLOWED)
    attempt("enum", lambda: len(call("enum", scm=scm, type=0x30, state=3)))
    attempt("create", lambda: call("create", scm=scm, name="evil", access=0, type=16, start=3, error=1,
                                    binpath="/bin/true"))
    attempt("open_all", lambda: call("open", scm=scm, name=name, access=int(ServiceAccess.ALL_ACCESS)))
    h = call("open", scm=scm, name=name, access=MAXIMUM_ALLOWED)
    attempt("status", lambda: call("status", h=h)[1])
    attempt("config", lambda: call("config", h=h)[3])
    attempt("interrogate", lambda: call("control", h=h, code=4)[1])
    attempt("user_control", lambda: call("control", h=h, code=130)[1])
    attempt("dependents", lambda: call("dependents", h=h, state=3))
    attempt("stop", lambda: call("control", h=h, code=1))
    attempt("pause", lambda: call("control", h=h, code=2))
    attempt("start", lambda: call("start", h=h, args=[]))
    attempt("change", lambda: call("change", h=h, display="pwned"))
    attempt("change2", lambda: call("change2", h=h, level=1, value="pwned"))
    attempt("delete", lambda: call("delete", h=h))
    print(json.dumps(out))
    """
)


def run_client(script: str, uid: int, gid: int, home: Path, *args: str) -> dict[str, object]:
    """Run a client ``script`` as ``uid``/``gid`` with the copied library; its JSON output."""
    lib = home.parent / "lib"  # a copy the user can read wherever the checkout lives

    def demote() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    res = subprocess.run(
        [USER_PYTHON, "-c", script, str(home), *args],
        preexec_fn=demote,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(lib)},
    )
    assert res.returncode == 0, res.stderr
    result: dict[str, object] = json.loads(res.stdout)
    return result


def run_as(uid: int, gid: int, home: Path, name: str) -> dict[str, list[object]]:
    return run_client(CLIENT, uid, gid, home, name)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def shared_daemon():
    base = Path(tempfile.mkdtemp(prefix="svcctl-acl-"))
    os.chmod(base, 0o755)
    shutil.copytree(SRC / "svcctl", base / "lib" / "svcctl", ignore=shutil.ignore_patterns("__pycache__"))
    for path in (base / "lib").rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(base / "lib", 0o755)
    d = Daemon(base / "home", "--socket-group", "nogroup", "--pipe-timeout", "3000")
    yield d
    d.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_socket_is_not_world_writable(shared_daemon):
    mode = stat.S_IMODE(os.stat(shared_daemon.home / "scm.sock").st_mode)
    assert mode & 0o007 == 0 and mode & 0o060 == 0o060
    assert stat.S_IMODE(os.stat(shared_daemon.home / "services.db").st_mode) & 0o077 == 0


def test_user_outside_socket_group_is_refused_with_5(shared_daemon, name):
    assert run_as(NOBODY, OTHER_GROUP, shared_daemon.home, name) == {"connect": ["err", 5]}


def test_b140_b141_default_rights_of_a_local_user(shared_daemon, name, tmp_path):
    log = tmp_path / "log.jsonl"
    with shared_daemon.connect() as admin:
        svc = admin.create_service(name, f"{sys.executable} {SVCHOST} --log {log}")
        try:
            svc.start()
            svc.wait(4, 10)
            got = run_as(NOBODY, NOGROUP, shared_daemon.home, name)
            denied = {k for k, v in got.items() if v == ["err", 5]}
            allowed = {k for k, v in got.items() if v[0] == "ok"}
            # B140: CONNECT, ENUMERATE_SERVICE, QUERY_LOCK_STATUS, READ_CONTROL; nothing more.
            # B141: QUERY_CONFIG, QUERY_STATUS, INTERROGATE, USER_DEFINED_CONTROL, ENUMERATE_DEPENDENTS.
            assert allowed == {"enum", "status", "config", "interrogate", "user_control", "dependents"}
            assert denied == {"open_scm_all", "create", "open_all", "stop", "pause", "start", "change",
                              "change2", "delete"}
            assert svc.query().state == 4 and svc.config().display_name == name  # nothing changed
        finally:
            svc.stop()
            svc.wait(1, 10)
            svc.delete()
            svc.close()


def test_b7_b139_b145_descriptor_grants_and_denies_per_unix_account(shared_daemon, name, tmp_path):
    """sdset decides per Unix account: nobody (S-1-22-1-65534) may start and stop this service
    but, through a deny ACE for its group (S-1-22-2-65534) read first, not send user controls.
    The refusals are answered 5 and logged (7930); nothing else changes."""
    log = tmp_path / "log.jsonl"
    sddl = (f"D:(D;;CR;;;S-1-22-2-{NOGROUP})(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)"
            f"(A;;CCLCSWLOCRRC;;;IU)(A;;RPWP;;;S-1-22-1-{NOBODY})")
    with shared_daemon.connect() as admin:
        svc = admin.create_service(name, f"{sys.executable} {SVCHOST} --log {log}")
        try:
            svc.set_security(sddl)
            assert svc.security() == sddl  # the DACL reads back as set (B145)
            svc.start()
            svc.wait(4, 10)
            got = run_as(NOBODY, NOGROUP, shared_daemon.home, name)
            allowed = {k for k, v in got.items() if v[0] == "ok"}
            assert allowed >= {"enum", "status", "config", "interrogate", "dependents", "stop"}
            # start comes right after that stop: granted, so any refusal is the state's, not 5
            assert got["start"][0] == "ok" or got["start"][1] != 5, got["start"]
            denied = {k for k, v in got.items() if v == ["err", 5]}
            assert denied == {"open_scm_all", "create", "open_all", "user_control", "pause", "change", "change2",
                              "delete"}
            refusals = [e for e in admin.events(service=name, since=-1, limit=100) if e[2] == 7930]
            assert refusals and all(e[6]["uid"] == NOBODY for e in refusals)
        finally:
            if svc.query().state != 1:
                svc.stop()
                svc.wait(1, 10)
            svc.delete()
            svc.close()


RIGHTS_CLIENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from svcctl.errors import ScmError
    from svcctl.mgr.portable import PortableBackend
    from svcctl.types import MAXIMUM_ALLOWED

    home, name, sd = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    call = PortableBackend.connect(home=home).call
    scm = call("open_scm", access=MAXIMUM_ALLOWED)
    try:
        h = call("open", scm=scm, name=name, access=MAXIMUM_ALLOWED)
    except ScmError as e:
        print(json.dumps({"open": e.winerror}))
        sys.exit(0)
    out = {}
    attempts = [
        ("QUERY_CONFIG", lambda: call("config", h=h)), ("CHANGE_CONFIG", lambda: call("change", h=h)),
        ("QUERY_STATUS", lambda: call("status", h=h)),
        ("ENUMERATE_DEPENDENTS", lambda: call("dependents", h=h, state=3)),
        ("INTERROGATE", lambda: call("control", h=h, code=4)),
        ("USER_DEFINED_CONTROL", lambda: call("control", h=h, code=130)),
        ("PAUSE_CONTINUE", lambda: call("control", h=h, code=2)),
        ("READ_CONTROL", lambda: call("get_security", h=h, info=4)),
        ("WRITE_DAC", lambda: call("set_security", h=h, info=4, sd=sd)),
        ("WRITE_OWNER", lambda: call("set_security", h=h, info=1, sd=sd)),
        ("START", lambda: call("start", h=h, args=[])), ("STOP", lambda: call("control", h=h, code=1)),
        ("DELETE", lambda: call("delete", h=h)),
    ]
    for key, fn in attempts:
        try:
            fn()
            out[key] = 0
        except ScmError as e:
            out[key] = e.winerror
    print(json.dumps(out))
    """
)

SERVICE_RIGHTS = {"QUERY_CONFIG": "CC", "CHANGE_CONFIG": "DC", "QUERY_STATUS": "LC", "ENUMERATE_DEPENDENTS": "SW",
                  "START": "RP", "STOP": "WP", "PAUSE_CONTINUE": "DT", "INTERROGATE": "LO",
                  "USER_DEFINED_CONTROL": "CR", "DELETE": "SD", "READ_CONTROL": "RC", "WRITE_DAC": "WD",
                  "WRITE_OWNER": "WO"}


@pytest.fixture(scope="module")
def test_users():
    """Two unprivileged users made for the test (in the socket's group), removed afterwards."""
    import pwd
    import uuid

    names = [f"svcr{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for n in names:
        subprocess.run(["useradd", "--no-create-home", "--gid", "nogroup", n], check=True)
    yield [pwd.getpwnam(n) for n in names]
    for n in names:
        subprocess.run(["userdel", n], check=False)


def run_rights(user, home: Path, name: str, sd_hex: str) -> dict[str, int]:
    return run_client(RIGHTS_CLIENT, user.pw_uid, user.pw_gid, home, name, sd_hex)  # type: ignore[return-value]


@pytest.mark.parametrize("right", sorted(SERVICE_RIGHTS))
def test_b139_each_service_right_is_granted_alone_as_the_descriptor_says(shared_daemon, name, test_users, right):
    """The DACL gives user A exactly one right and user B nothing: A's call needing that right
    passes (or fails for another reason than access), every other call of A fails with 5, and B
    cannot even open the service."""
    from svcctl.secdesc import sddl_to_bytes

    a, b = test_users
    sddl = f"D:(A;;{SERVICE_RIGHTS[right]};;;S-1-22-1-{a.pw_uid})(A;;GA;;;BA)"
    with shared_daemon.connect() as admin:
        svc = admin.create_service(name, f"{sys.executable} {SVCHOST}")
        try:
            svc.set_security(sddl)
            sd_hex = sddl_to_bytes("O:SYG:SY" + sddl).hex()
            got = run_rights(a, shared_daemon.home, name, sd_hex)
            assert got.pop(right) != 5, right
            assert set(got.values()) == {5}, got
            assert run_rights(b, shared_daemon.home, name, sd_hex) == {"open": 5}
        finally:
            if svc.query().state != 1:
                svc.stop()
                svc.wait(1, 10)
            if right != "DELETE":  # A deleted it already: closing the last handle removes it
                svc.delete()
            svc.close()


def test_b138_b140_manager_descriptor_decides_create_service(shared_daemon, test_users, name):
    """By default no local user may create services (B140, B143); once the SCM's descriptor
    (sdset scmanager) grants user A CREATE_SERVICE, A can and B still cannot."""
    a, b = test_users
    with shared_daemon.connect() as admin:
        admin.create_service(name, "/bin/true").close()  # the client also probes a service
        before = admin.security(0x4)
        assert run_as(a.pw_uid, a.pw_gid, shared_daemon.home, name)["create"] == ["err", 5]
        admin.set_security(before[:2] + f"(A;;CCDCLCRPRC;;;S-1-22-1-{a.pw_uid})" + before[2:])
        try:
            assert run_as(a.pw_uid, a.pw_gid, shared_daemon.home, name)["create"][0] == "ok"
            assert run_as(b.pw_uid, b.pw_gid, shared_daemon.home, name)["create"] == ["err", 5]
        finally:
            admin.set_security(before)
            for leftover in ("evil", name):
                if admin.exists(leftover):
                    with admin.open_service(leftover) as svc:
                        svc.delete()


SCM_CLIENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from svcctl.errors import ScmError
    from svcctl.mgr.portable import PortableBackend
    from svcctl.types import MAXIMUM_ALLOWED

    home, name = Path(sys.argv[1]), sys.argv[2]
    call = PortableBackend.connect(home=home).call
    try:
        scm = call("open_scm", access=MAXIMUM_ALLOWED)
    except ScmError as e:
        print(json.dumps({"open": e.winerror}))
        sys.exit(0)
    out = {}
    attempts = [
        ("ENUMERATE_SERVICE", lambda: call("enum", scm=scm, type=0x30, state=3)),
        ("CREATE_SERVICE", lambda: call("create", scm=scm, name=name, access=0, type=16, start=3, error=1,
                                        binpath="/bin/true")),
        ("MODIFY_BOOT_CONFIG", lambda: call("set_group_order", scm=scm, groups=call("group_order", scm=scm))),
        ("READ_CONTROL", lambda: call("get_security", h=scm, info=4)),
        ("CONNECT", lambda: call("open", scm=scm, name=name + "-none", access=0)),
    ]
    for key, fn in attempts:
        try:
            fn()
            out[key] = 0
        except ScmError as e:
            out[key] = e.winerror
    print(json.dumps(out))
    """
)
SCM_RIGHTS = {"ENUMERATE_SERVICE": "LC", "CREATE_SERVICE": "DC", "MODIFY_BOOT_CONFIG": "WP", "READ_CONTROL": "RC"}


@pytest.mark.parametrize("right", sorted(SCM_RIGHTS))
def test_b138_each_manager_right_is_granted_alone_as_the_descriptor_says(shared_daemon, test_users, name, right):
    """The SCM's DACL gives user A CONNECT plus one right: that call passes, the other manager
    calls fail with 5 (OpenService needs only CONNECT, B5, and fails for the missing service)."""
    a, _ = test_users
    with shared_daemon.connect() as admin:
        before = admin.security(0x4)
        admin.set_security(f"D:(A;;CC{SCM_RIGHTS[right]};;;S-1-22-1-{a.pw_uid})(A;;KA;;;BA)")
        try:
            got = run_client(SCM_CLIENT, a.pw_uid, a.pw_gid, shared_daemon.home, name)
        finally:
            admin.set_security(before)
            if admin.exists(name):
                with admin.open_service(name) as svc:
                    svc.delete()
    assert got.pop(right) == 0, (right, got)
    assert got.pop("CONNECT") == 1060  # OpenService needs only CONNECT (B5): the service is missing
    assert set(got.values()) == {5}, got

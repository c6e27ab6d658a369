"""The launcher, the static program that starts wrapped programs for the daemon: its bytes are
its source's, and each program it starts is this process's child with exactly the streams,
directory, session, umask, environment and cgroup asked for (real processes throughout)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from svcctl.wrapper import launcher
from svcctl.wrapper.posix import _cgroup_base

SOURCE = Path(launcher.__file__).with_name("launcher.S")
pytestmark = pytest.mark.skipif(launcher.executable() is None, reason="the launcher runs on x86-64 Linux only")

# What a started program finds itself with, as JSON on its stdout.
REPORT = """
import json, os
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
print(json.dumps({
    "fds": fds, "cwd": os.getcwd(), "umask": os.umask(0), "sid": os.getsid(0), "pid": os.getpid(),
    "ppid": os.getppid(), "env": open("/proc/self/environ").read(), "stdin": os.readlink("/proc/self/fd/0"),
    "cgroup": open("/proc/self/cgroup").read().split("0::", 1)[1].strip(),
}))
"""


@pytest.mark.skipif(not (shutil.which("as") and shutil.which("objcopy")), reason="needs GNU as and objcopy")
def test_code_is_the_assembled_source(tmp_path: Path) -> None:
    subprocess.run(["as", "-o", tmp_path / "launcher.o", SOURCE], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", tmp_path / "launcher.o", tmp_path / "launcher.bin"],
                   check=True)
    assert (tmp_path / "launcher.bin").read_bytes() == launcher.CODE


def with_launcher(body: Callable[[launcher.Launcher], Awaitable[Any]], join_from_inside: bool = False,
                  failed: list[str] | None = None) -> Any:
    """Run ``body`` with a launcher; removals it could not do go to ``failed``."""
    async def run() -> Any:
        path = launcher.executable()
        assert path is not None
        spawner = launcher.Launcher(path, asyncio.get_running_loop(), join_from_inside=join_from_inside,
                                    removal_failed=(failed if failed is not None else []).append)
        try:
            return await body(spawner)
        finally:
            spawner.close()
    return asyncio.run(run())


async def output_of(spawner: launcher.Launcher, argv: list[str], cgroup: str = "", cwd: str = "/",
                    env: dict[str, str] | None = None) -> tuple[int, int, int, bytes]:
    """Start argv with a pipe as stdout and stderr: (pid, cgroup errno, exit code, output)."""
    r, w = os.pipe()
    try:
        pid, cgroup_errno = await spawner.spawn(cgroup, cwd, argv, env or {}, w, w)
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as out:
        data = out.read()
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) if pid > 0 else pid
    return pid, cgroup_errno, code, data


async def after_removals(spawner: launcher.Launcher) -> None:
    """Until the removals asked for so far are answered: they leave at the end of this loop
    iteration, and a spawn sent after them is answered after them."""
    await asyncio.sleep(0)
    await output_of(spawner, ["/bin/true"])


def test_a_program_gets_exactly_what_was_asked_for(tmp_path: Path) -> None:
    env = {"ONLY": "this", "AND": "that=too"}
    old = os.umask(0o077)
    stray = os.open(os.devnull, os.O_RDONLY)  # inheritable: the launcher gets it, no program may
    os.set_inheritable(stray, True)
    try:
        pid, cgroup_errno, code, out = with_launcher(
            lambda sp: output_of(sp, [sys.executable, "-c", REPORT], cwd=str(tmp_path), env=env))
    finally:
        os.umask(old)
        os.close(stray)
    assert (cgroup_errno, code) == (0, 0), out
    seen = json.loads(out)
    assert seen["pid"] == pid and seen["ppid"] == os.getpid()  # our child, though the launcher cloned it
    assert seen["sid"] == pid  # a session (so a process group) of its own
    assert (seen["cwd"], seen["umask"], seen["stdin"]) == (str(tmp_path), 0o022, "/dev/null")
    assert seen["env"] == "".join(f"{k}={v}\0" for k, v in env.items())  # as exec'd, before Python's locale
    assert seen["fds"][:3] == [0, 1, 2] and len(seen["fds"]) == 4  # and the one listdir opened


def test_a_program_starts_with_no_signal_ignored_or_blocked() -> None:
    """Python ignores SIGPIPE and SIGXFSZ; a program it starts must not inherit that."""
    _, _, code, out = with_launcher(lambda sp: output_of(sp, ["/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]))
    assert code == 0
    status = dict(line.split(b":") for line in out.splitlines())
    assert int(status[b"SigBlk"], 16) == 0
    assert int(status[b"SigIgn"], 16) & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1)) == 0


@pytest.mark.parametrize("join_from_inside", [False, True], ids=["clone3", "fork-and-join"])
def test_a_program_is_in_its_cgroup_from_its_first_instruction(join_from_inside: bool) -> None:
    base = _cgroup_base()
    if base is None:
        pytest.skip("needs a cgroup v2 this process may create cgroups in")
    cgroup = os.path.join(base, f"launcher-test-{os.getpid()}")

    async def body(sp: launcher.Launcher) -> tuple[int, int, int, bytes]:
        result = await output_of(sp, [sys.executable, "-c", REPORT], cgroup=cgroup)
        sp.remove(cgroup)
        await after_removals(sp)
        return result

    pid, cgroup_errno, code, out = with_launcher(body, join_from_inside)
    assert (cgroup_errno, code) == (0, 0), out
    seen = json.loads(out)
    assert seen["pid"] == pid and seen["cgroup"].endswith("/" + os.path.basename(cgroup))
    assert not os.path.exists(cgroup)


@pytest.mark.parametrize(("cwd", "program", "code", "says"), [
    ("{missing}", "/bin/true", 125, "cannot enter the working directory"),
    ("/", "{missing}", 127, "cannot execute the program"),
])
def test_a_program_that_cannot_start_exits_with_a_code_and_says_why(
    tmp_path: Path, cwd: str, program: str, code: int, says: str
) -> None:
    missing = str(tmp_path / "missing")
    _, _, exit_code, out = with_launcher(
        lambda sp: output_of(sp, [program.format(missing=missing)], cwd=cwd.format(missing=missing)))
    assert (exit_code, out) == (code, f"svcctl: {says}\n".encode())


def test_where_clone3_is_refused_the_program_joins_from_inside_and_says_if_it_cannot(tmp_path: Path) -> None:
    """A directory that is no cgroup: clone3 refuses it, so the launcher forks instead, and the
    program cannot write itself into a cgroup.procs that is not there."""
    not_a_cgroup = tmp_path / "plain"

    async def body(sp: launcher.Launcher) -> tuple[tuple[int, int, int, bytes], bool]:
        first = await output_of(sp, ["/bin/true"], cgroup=str(not_a_cgroup))
        made = not_a_cgroup.is_dir()
        sp.remove(str(not_a_cgroup))
        await after_removals(sp)
        return first, made

    (pid, cgroup_errno, code, out), made = with_launcher(body)
    assert pid > 0 and cgroup_errno == 0 and made
    assert (code, out) == (125, b"svcctl: cannot join the program's cgroup\n")
    assert not not_a_cgroup.exists()  # removed, in order


def test_removals_go_together_and_a_request_that_failed_is_handed_back(tmp_path: Path) -> None:
    """Removals asked for in one loop iteration are one request; the launcher says how many of
    it failed, not which, so all of a failed request come back for the caller to retry."""
    full = tmp_path / "full"
    (full / "inside").mkdir(parents=True)
    alone, beside = tmp_path / "alone", tmp_path / "beside"
    alone.mkdir()
    beside.mkdir()

    async def body(sp: launcher.Launcher) -> None:
        sp.remove(str(alone))
        await after_removals(sp)
        sp.remove(str(full))  # not empty: ENOTEMPTY
        sp.remove(str(beside))
        await after_removals(sp)

    failed: list[str] = []
    with_launcher(body, failed=failed)
    assert failed == [str(full), str(beside)]
    assert full.exists() and not alone.exists() and not beside.exists()


def test_more_removals_than_one_request_holds_are_split(tmp_path: Path) -> None:
    """3,000 paths of ~60 bytes: more than the launcher's 64 KiB request buffer takes at once."""
    paths = [tmp_path / f"cgroup-{i:05d}" for i in range(3000)]
    for path in paths:
        path.mkdir()

    async def body(sp: launcher.Launcher) -> None:
        for path in paths:
            sp.remove(str(path))
        await after_removals(sp)

    failed: list[str] = []
    with_launcher(body, failed=failed)
    assert failed == [] and list(tmp_path.iterdir()) == []


def test_a_cgroup_that_cannot_be_made_is_reported_and_the_program_runs_without_it(tmp_path: Path) -> None:
    pid, cgroup_errno, code, out = with_launcher(
        lambda sp: output_of(sp, ["/bin/echo", "ran"], cgroup=str(tmp_path / "no" / "such")))
    assert pid > 0 and cgroup_errno == 2  # ENOENT
    assert (code, out) == (0, b"ran\n")


def test_many_requests_at_once_are_answered_in_order() -> None:
    """More requests than the socket holds (ten): the rest wait in the backlog."""
    async def body(sp: launcher.Launcher) -> list[tuple[int, bytes]]:
        pipes = [os.pipe() for _ in range(60)]
        futures = [sp.spawn("", "/", ["/bin/sh", "-c", f"echo {i} $$"], {}, w, w) for i, (_, w) in enumerate(pipes)]
        replies = await asyncio.gather(*futures)
        results = []
        for (r, w), (pid, _) in zip(pipes, replies, strict=True):
            os.close(w)
            with os.fdopen(r, "rb") as out:
                results.append((pid, out.read()))
            os.waitpid(pid, 0)
        return results

    results = with_launcher(body)
    assert [out for _, out in results] == [f"{i} {pid}\n".encode() for i, (pid, _) in enumerate(results)]


def test_a_malformed_request_is_refused_and_the_next_one_served() -> None:
    async def body(sp: launcher.Launcher) -> tuple[tuple[int, int], tuple[int, int, int, bytes]]:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            refused = await sp.spawn("", "/", [], {}, null, null)  # no program
        finally:
            os.close(null)
        return refused, await output_of(sp, ["/bin/echo", "next"])

    refused, (_, _, code, out) = with_launcher(body)
    assert refused == (-22, 0)  # -EINVAL
    assert (code, out) == (0, b"next\n")
    with pytest.raises(ValueError):
        with_launcher(lambda sp: sp.spawn("", "/", ["/bin/echo", "a\0b"], {}, 1, 2))


def test_requests_fail_once_the_launcher_is_gone_and_it_ends_with_its_socket() -> None:
    async def body(sp: launcher.Launcher) -> None:
        await output_of(sp, ["/bin/true"])
        os.kill(sp.pid, signal.SIGKILL)
        deadline = asyncio.get_running_loop().time() + 10
        with pytest.raises(OSError):
            while True:  # the first request after its death, or the next one, fails
                assert asyncio.get_running_loop().time() < deadline
                sp.remove("/gone/a")
                await sp.spawn("", "/", ["/bin/true"], {}, 1, 2)
        sp.remove("/gone/b")

    failed: list[str] = []
    with_launcher(body, failed=failed)
    assert failed and set(failed) == {"/gone/a", "/gone/b"}  # handed back, none lost

    async def closes(sp: launcher.Launcher) -> int:
        sp.close()  # the launcher exits at the end of its socket and is reaped
        return sp.pid

    pid = with_launcher(closes)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_image_cannot_be_changed_once_made() -> None:
    path = launcher.executable()
    assert path is not None
    with pytest.raises(PermissionError), open(path, "r+b") as f:
        f.write(b"\0")

"""The wrapper's POSIX process layer: a cgroup per program when one can be made, else a session.

A program is started in its own session, so SIGINT/SIGTERM/SIGKILL reach its process group. A
process that leaves the group (``setsid``, the classic daemon double fork) would escape that; a
cgroup v2 holds it anyway. When the daemon may create cgroups (root, or a delegated subtree) each
program gets one below the daemon's own: signals then go to every member, ``cgroup.kill`` ends
the tree, ``cgroup.freeze`` pauses it, and the tree is gone when ``populated`` drops to 0.
The program is in its cgroup before it runs, or a quick double fork would escape the stop.
Programs are started by the launcher (a 1 KiB static program, see :mod:`.launcher`), which clones
each one straight into its cgroup as this process's child, so the daemon's thread neither forks
nor waits for an exec. Where the launcher cannot run, the program starts as ``/bin/sh``, which
writes its own pid into the cgroup, enters the working directory and execs the program (same
pid): a preexec hook would turn vfork into a slow fork (~2 ms a start here), and joining from
outside after the start leaves a window in which the program forks children that are never
caught. Without cgroups, subprocess starts the program in a session of its own. Both paths from
here use vfork and close no descriptors beyond what PEP 446 already marks: every file the daemon
opens is non-inheritable, and the program gets exactly stdin (/dev/null), stdout and stderr.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_BAD_EXE_FORMAT,
    ERROR_DIRECTORY,
    ERROR_FILE_NOT_FOUND,
    ERROR_PATH_NOT_FOUND,
    ERROR_SHUTDOWN_IN_PROGRESS,
    ScmError,
)
from . import launcher
from .process import CLOSE, GONE_POLL_S, INTERRUPT, KILL, Program, TreeWait

if TYPE_CHECKING:
    from ..accounts import Account

#: "0" keeps the wrapper to process groups even where it could make cgroups; "1" asks for them.
ENV_CGROUPS = "SVCCTL_CGROUPS"
#: Run by /bin/sh with $0 = the cgroup's cgroup.procs, $1 = the working directory, $2 and $3 =
#: "=VALUE" for the PWD and OLDPWD the program's environment has (anything else: none, as ``cd``
#: would otherwise set the shell's own), then argv. A failed join ends the start with 125 and the
#: shell's message on stderr: a program outside its cgroup would be beyond its stop.
_JOIN_THEN_EXEC = (
    'echo 0 >"$0" || exit 125; cd "$1" || exit 125; umask 022; '
    'case $2 in =*) export PWD="${2#=}";; *) unset PWD;; esac; '
    'case $3 in =*) export OLDPWD="${3#=}";; *) unset OLDPWD;; esac; shift 3; exec "$@"'
)
#: util-linux's setpriv: switches user after the shell joined the cgroup (as root).
SETPRIV = next((p for p in ("/usr/bin/setpriv", "/bin/setpriv") if os.access(p, os.X_OK)), None)
_SIGNALS = {INTERRUPT: signal.SIGINT, CLOSE: signal.SIGTERM, KILL: signal.SIGKILL}


def _win32_code(exc: OSError, exe: str, cwd: str) -> ScmError:
    if not os.path.isdir(cwd):
        return ScmError(ERROR_DIRECTORY, f"working directory {cwd!r} does not exist")
    if isinstance(exc, FileNotFoundError):
        parent = os.path.dirname(exe)
        code = ERROR_PATH_NOT_FOUND if parent and not os.path.isdir(parent) else ERROR_FILE_NOT_FOUND
        return ScmError(code, f"{exe}: {exc.strerror}")
    if isinstance(exc, PermissionError):
        return ScmError(ERROR_ACCESS_DENIED, f"{exe}: {exc.strerror}")
    if exc.errno == errno.ENOEXEC:
        return ScmError(ERROR_BAD_EXE_FORMAT, f"{exe}: {exc.strerror}")
    return ScmError(ERROR_FILE_NOT_FOUND, f"{exe}: {exc.strerror}")


def _cgroup_base() -> str | None:
    """This process's cgroup v2 directory, if this process may create cgroups below it."""
    mount = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] == "cgroup2":
                    mount = fields[4]
                    break
        with open("/proc/self/cgroup") as f:
            own = next((ln.strip()[3:] for ln in f if ln.startswith("0::")), None)
    except (OSError, ValueError, StopIteration):
        return None
    if mount is None or own is None:
        return None
    base = os.path.join(mount, own.lstrip("/"))
    return base if os.access(base, os.W_OK) else None


class PosixProgram(TreeWait):
    __slots__ = ("pid", "exited", "_popen", "_loop", "_cgroup", "_remove", "_pidfd")

    def __init__(self, pid: int, popen: subprocess.Popen[bytes] | None, cgroup: str | None,
                 loop: asyncio.AbstractEventLoop, remove: Callable[[str], object] | None = None) -> None:
        """``remove(cgroup)`` removes the cgroup once the tree is gone (None: rmdir from here)."""
        self.pid = pid
        self._popen = popen
        self._loop = loop
        self._cgroup = cgroup
        self._remove = remove
        self.exited: asyncio.Future[int] = loop.create_future()
        self._pidfd = os.pidfd_open(self.pid)
        loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        if not self.exited.done():
            self.exited.set_result(self._popen.wait() if self._popen is not None else _reap(self.pid))

    def _members(self) -> list[int]:
        assert self._cgroup is not None
        return [int(pid) for pid in _read(os.path.join(self._cgroup, "cgroup.procs")).split()]

    # With a cgroup, the tree is the cgroup's members plus the program's own pid until it exits:
    # the program joins from inside (see the module's docstring), so for a moment after the spawn
    # it is not a member yet, and it forks nothing before it is.

    def signal(self, step: str) -> None:
        sig = _SIGNALS[step]
        if sig == signal.SIGKILL and self._cgroup is not None and _write(
            os.path.join(self._cgroup, "cgroup.kill"), "1"
        ):
            if not self.exited.done():
                _kill(self.pid, sig)
            return
        self._signal_raw(sig)

    def alive(self) -> bool:
        if not self.exited.done():
            return True
        if self._cgroup is not None:
            return b"populated 1" in _read(os.path.join(self._cgroup, "cgroup.events"))
        try:
            os.killpg(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def suspend(self) -> None:
        if self._cgroup is None or not _write(os.path.join(self._cgroup, "cgroup.freeze"), "1"):
            self._signal_raw(signal.SIGSTOP)

    def resume(self) -> None:
        if self._cgroup is None or not _write(os.path.join(self._cgroup, "cgroup.freeze"), "0"):
            self._signal_raw(signal.SIGCONT)

    def _signal_raw(self, sig: int) -> None:
        if self._cgroup is not None:
            members = self._members()
            if not self.exited.done() and self.pid not in members:
                members.append(self.pid)
            for pid in members:
                _kill(pid, sig)
        else:
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def release(self) -> None:
        if self._cgroup is not None:
            if self._remove is not None:
                self._remove(self._cgroup)
            else:
                _remove_cgroup(self._loop, self._cgroup, 100)
            self._cgroup = None


def _remove_cgroup(loop: asyncio.AbstractEventLoop, path: str, tries: int) -> None:
    """rmdir fails while the last members are still being torn down: retry a little later."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        if tries > 0:
            loop.call_later(GONE_POLL_S, _remove_cgroup, loop, path, tries - 1)


def _reap(pid: int) -> int:
    """The exit code of our exited child ``pid``, as Popen.returncode gives it (-N: signal N)."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:
        return 0  # someone else reaped it (as Popen.wait answers)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read(path: str) -> bytes:
    """A small cgroup file's contents (b"" if it is gone); cheaper than open() on every stop."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return b""
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)


def _write(path: str, text: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    try:
        os.write(fd, text.encode())
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class PosixProcessLayer:
    """Starts programs for the wrapper; ``use_cgroups=None`` uses them when they can be made."""

    def __init__(self, use_cgroups: bool | None = None, use_launcher: bool = True) -> None:
        if use_cgroups is None and os.environ.get(ENV_CGROUPS) in ("0", "1"):
            use_cgroups = os.environ[ENV_CGROUPS] == "1"
        self._base: str | None = None
        self._want_cgroups = use_cgroups
        self._probed = False
        self._ids = itertools.count(1)
        self._launcher_path: str | None = None if use_launcher else ""  # once made; "": spawn from here
        self._running: launcher.Launcher | None = None
        self._closed = False

    @property
    def cgroup_root(self) -> str | None:
        """The directory the programs' cgroups are made in (None: process groups are used)."""
        if not self._probed:
            self._probed = True
            base = _cgroup_base() if self._want_cgroups is not False else None
            if base is not None:
                _sweep_dead_roots(base)
                root = os.path.join(base, f"svcctl-{os.getpid()}")
                try:
                    os.makedirs(root, exist_ok=True)
                    self._base = root
                except OSError:
                    self._base = None
        return self._base

    async def start(
        self, argv: list[str], cwd: str, env: dict[str, str], stdout: int, stderr: int, label: str,
        account: Account | None = None,
    ) -> Program:
        if self._closed:
            raise ScmError(ERROR_SHUTDOWN_IN_PROGRESS, "the wrapper's process layer is closed")
        root = self.cgroup_root
        switch: dict[str, Any] = {}
        if account is not None and not account.is_daemon_user:
            switch = {"user": account.uid, "group": account.gid, "extra_groups": list(account.groups)}
        cgroup = os.path.join(root, f"{label}-{next(self._ids)}") if root is not None else None
        if not switch or SETPRIV:
            _check_executable(argv[0], cwd)  # the launcher or the shell would turn these into an exit code
            if switch:  # start (and join the cgroup) as root, then become the account
                assert account is not None and SETPRIV is not None
                groups = ",".join(map(str, account.groups))
                argv = [SETPRIV, f"--reuid={account.uid}", f"--regid={account.gid}",
                        f"--groups={groups}" if groups else "--clear-groups", "--", *argv]
            running = self._launcher()
            if running is not None:
                try:
                    pid, cgroup_errno = await running.spawn(cgroup or "", os.path.abspath(cwd), argv, env,
                                                            stdout, stderr)
                except OSError:
                    # It is gone, maybe after it cloned the program: end what may have started in
                    # the cgroup, then spawn from here, now and from now on.
                    self._launcher_path = ""
                    if cgroup is not None:
                        _write(os.path.join(cgroup, "cgroup.kill"), "1")
                        _remove_cgroup(asyncio.get_running_loop(), cgroup, 100)
                        cgroup = os.path.join(os.path.dirname(cgroup), f"{label}-{next(self._ids)}")
                else:
                    if pid < 0:
                        if cgroup is not None and not cgroup_errno:
                            _rmdir(cgroup)
                        raise _win32_code(OSError(-pid, os.strerror(-pid)), argv[0], cwd)
                    return PosixProgram(pid, None, None if cgroup_errno else cgroup, asyncio.get_running_loop(),
                                        running.remove)
        return self._start_here(argv, cwd, env, stdout, stderr, cgroup, switch)

    def _launcher(self) -> launcher.Launcher | None:
        """The running launcher, started on first use; None where it cannot run."""
        if self._launcher_path is None:
            self._launcher_path = launcher.executable() or ""
        if not self._launcher_path:
            return None
        if self._running is None:
            loop = asyncio.get_running_loop()
            try:
                self._running = launcher.Launcher(self._launcher_path, loop, removal_failed=self._remove_here)
            except OSError:  # not runnable here (memfds mounted noexec, a policy)
                self._launcher_path = ""
                return None
        return self._running

    def _remove_here(self, cgroup: str) -> None:
        """A cgroup the launcher did not remove: try from here (after close, the sweep does)."""
        if not self._closed:
            _remove_cgroup(asyncio.get_running_loop(), cgroup, 100)

    def _start_here(self, argv: list[str], cwd: str, env: dict[str, str], stdout: int, stderr: int,
                    cgroup: str | None, switch: dict[str, Any]) -> Program:
        """Spawn from this process: through the shell, which joins the cgroup first, or with
        subprocess into a session of its own (and a cgroup joined from outside, if any)."""
        if cgroup is not None:
            try:
                os.mkdir(cgroup)
            except OSError:
                cgroup = None
        loop = asyncio.get_running_loop()
        if cgroup is not None and (not switch or SETPRIV):
            actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                       (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, stderr, 2)]
            try:
                pid = os.posix_spawn("/bin/sh", ["sh", "-c", _JOIN_THEN_EXEC, os.path.join(cgroup, "cgroup.procs"),
                                                 os.path.abspath(cwd), _marked(env, "PWD"), _marked(env, "OLDPWD"),
                                                 *argv],
                                     env, file_actions=actions, setsid=True, setsigdef=launcher.DEFAULT_SIGNALS)
            except OSError as exc:
                _rmdir(cgroup)
                raise _win32_code(exc, "/bin/sh", cwd) from None
            return PosixProgram(pid, None, cgroup, loop)
        try:
            popen = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                start_new_session=True, umask=0o022, **switch,
            )
        except OSError as exc:
            if cgroup is not None:
                _rmdir(cgroup)
            raise _win32_code(exc, argv[0], cwd) from None
        if cgroup is not None:  # no setpriv to switch after joining: joined from outside, racing its forks
            _write(os.path.join(cgroup, "cgroup.procs"), str(popen.pid))
        return PosixProgram(popen.pid, popen, cgroup, loop)

    def close(self) -> None:
        """At the end: the launcher ends, whatever is still in a program cgroup is killed, and
        the cgroups go."""
        self._closed = True
        if self._running is not None:
            self._running.close()
            self._running = None
        if self._base is not None:
            _remove_tree(self._base)
            self._base = None


def _remove_tree(root: str) -> None:
    """Kill what is left in ``root``'s cgroups and remove them (blocking, up to about 1 s)."""
    try:
        children = [os.path.join(root, n) for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))]
    except OSError:
        return
    for child in children:
        _write(os.path.join(child, "cgroup.kill"), "1")
    deadline = time.monotonic() + 1.0
    for path in [*children, root]:
        while True:
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)  # the killed members are still being torn down


def _sweep_dead_roots(base: str) -> None:
    """A daemon that was killed leaves its ``svcctl-<pid>`` cgroups, maybe with programs in
    them: nothing is orphaned, so those programs are ended and the cgroups removed."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith("svcctl-") or not name[7:].isdigit() or int(name[7:]) == os.getpid():
            continue
        if not os.path.exists(f"/proc/{name[7:]}"):
            _remove_tree(os.path.join(base, name))


def _check_executable(program: str, cwd: str) -> None:
    path = os.path.join(cwd, program)
    if not os.path.isdir(cwd):
        raise ScmError(ERROR_DIRECTORY, f"working directory {cwd!r} does not exist")
    if not os.path.exists(path):
        parent = os.path.dirname(path)
        raise ScmError(ERROR_PATH_NOT_FOUND if parent and not os.path.isdir(parent) else ERROR_FILE_NOT_FOUND,
                       f"{program}: No such file or directory")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise ScmError(ERROR_ACCESS_DENIED, f"{program}: Permission denied")


def _marked(env: dict[str, str], name: str) -> str:
    return "=" + env[name] if name in env else "-"


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass

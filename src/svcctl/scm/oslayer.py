"""The SCM's OS layer: starting service images and ending their process trees.

The daemon's policy code never calls the OS itself; it gets a :class:`Spawner`. ``PosixSpawner``
starts real processes (own session, so the whole tree can be signalled; exit seen through a
pidfd, no SIGCHLD handler and no polling). ``InProcessSpawner`` runs Python service images as
threads of the current process, which is what the ``memory`` backend and fast unit tests use.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Protocol

from .. import cmdline
from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_BAD_EXE_FORMAT,
    ERROR_FILE_NOT_FOUND,
    ERROR_PATH_NOT_FOUND,
    ScmError,
)

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml)
if TYPE_CHECKING:
    from ..accounts import Account
    from .host import Host

#: signal.SIGKILL, looked up so that this module also imports on Windows (which has no SIGKILL):
#: the contract suite's fixtures import it there, though nothing here runs on Windows.
SIGKILL: int = getattr(signal, "SIGKILL", 9)


class Process(Protocol):
    """A started service image."""

    @property
    def pid(self) -> int: ...

    #: Resolves with the exit status once the image's main process has ended.
    exited: asyncio.Future[int]

    def kill_tree(self, sig: int = SIGKILL) -> None:
        """Signal the image and everything it started."""


class Spawner(Protocol):
    def host_inline(self, argv: list[str], host: Host, account: Account | None = None) -> Process | None:
        """Run ``argv`` on the SCM's own loop, linked to ``host``, its programs as ``account``, if
        this spawner hosts that image itself (the wrapper); None means: spawn it as a process."""

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> Process:
        """Start a plain program (a recovery command): no control channel."""

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, channel: socket.socket,
              account: Account | None = None) -> Process:
        """Start ``argv`` with ``channel`` as its control channel, as ``account`` (None: as the
        daemon); raise ScmError(2/3/5/193). The spawner owns ``channel`` from then on."""


def _os_error_code(exc: OSError) -> int:
    if isinstance(exc, FileNotFoundError):
        return ERROR_FILE_NOT_FOUND
    if isinstance(exc, NotADirectoryError):
        return ERROR_PATH_NOT_FOUND
    if isinstance(exc, PermissionError):
        return ERROR_ACCESS_DENIED
    if exc.errno == errno.ENOEXEC:
        return ERROR_BAD_EXE_FORMAT
    return ERROR_FILE_NOT_FOUND


def resolve_image(argv0: str) -> str:
    """Absolute path of an image: as given when it contains a slash, else looked up on PATH."""
    if os.sep in argv0:
        if not os.path.exists(argv0):
            parent = os.path.dirname(argv0)
            code = ERROR_FILE_NOT_FOUND if not parent or os.path.isdir(parent) else ERROR_PATH_NOT_FOUND
            raise ScmError(code, argv0)
        return argv0
    found = cmdline.which(argv0)
    if found is None:
        raise ScmError(ERROR_FILE_NOT_FOUND, argv0)
    return found


class PosixProcess:
    __slots__ = ("pid", "exited", "_popen", "_pidfd", "_loop")

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self.pid = popen.pid
        self._popen = popen
        self._loop = loop
        self.exited: asyncio.Future[int] = loop.create_future()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
            threading.Thread(target=self._wait_blocking, daemon=True).start()
        else:
            loop.add_reader(self._pidfd, self._on_pidfd)

    def _on_pidfd(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # It has exited, and is not reaped yet: its pid, which names its process group, cannot
        # belong to another process. Whatever it left in its session goes now (no orphans);
        # then it is reaped here, without Popen.wait's locking and polling machinery.
        self._kill_group(SIGKILL)
        try:
            code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        except ChildProcessError:
            code = self._popen.wait()  # reaped elsewhere: Popen knows (or answers 0, as it does)
        self._popen.returncode = code
        self._finish(code)

    def _wait_blocking(self) -> None:
        code = self._popen.wait()
        self._loop.call_soon_threadsafe(self._finish_reaped, code)

    def _finish_reaped(self, code: int) -> None:
        # Without a pidfd the group can only be ended after the reap, as it always was.
        self._kill_group(SIGKILL)
        self._finish(code)

    def _finish(self, code: int) -> None:
        if not self.exited.done():
            self.exited.set_result(code)

    def kill_tree(self, sig: int = SIGKILL) -> None:
        if self.exited.done():
            return  # reaped, its group ended then: the pid may name another process's group now
        self._kill_group(sig)

    def _kill_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class PosixSpawner:
    """Starts each image in a new session; stdio goes to /dev/null as a service has no console."""

    def host_inline(self, argv: list[str], host: Host, account: Account | None = None) -> Process | None:
        return None

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> Process:
        return self._start(argv, env, cwd, ())

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, channel: socket.socket,
              account: Account | None = None) -> Process:
        try:
            return self._start(argv, env, cwd, (channel.fileno(),), account)
        finally:
            channel.close()  # the child has its copy

    def _start(self, argv: list[str], env: dict[str, str], cwd: str, fds: tuple[int, ...],
               account: Account | None = None) -> Process:
        switch: dict[str, object] = {}
        if account is not None and not account.is_daemon_user:
            switch = {"user": account.uid, "group": account.gid, "extra_groups": list(account.groups)}
            env = {**env, **account.environment()}
        try:
            exe = resolve_image(argv[0])
            popen = subprocess.Popen(  # type: ignore[call-overload]
                [exe, *argv[1:]],
                env=env,
                cwd=cwd,
                pass_fds=fds,
                start_new_session=True,
                umask=0o022,  # not the daemon's private 077
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                **switch,
            )
        except ScmError:
            raise
        except OSError as exc:
            raise ScmError(_os_error_code(exc), f"{argv[0]}: {exc.strerror}") from None
        return PosixProcess(popen, asyncio.get_running_loop())


class ThreadProcess:
    """A Python service image running as a thread (memory backend)."""

    _next_pid = 1_000_000

    def __init__(self, target: Callable[[], object], channel: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        ThreadProcess._next_pid += 1
        self.pid = ThreadProcess._next_pid
        self.exited: asyncio.Future[int] = loop.create_future()
        self._loop = loop
        self._channel = channel
        self._killed = threading.Event()
        self._target = target
        threading.Thread(target=self._run, name=f"svc-image-{self.pid}", daemon=True).start()

    def _run(self) -> None:
        from ..svc import channel as svc_channel  # the in-process fake's images only

        code = 0
        try:
            svc_channel.set_inprocess(self._channel, self._killed)
            result = self._target()
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # an image that crashes is an exit with status 1, like a process
            code = 1
        finally:
            svc_channel.set_inprocess(None, None)
            try:
                self._channel.close()
            except OSError:
                pass
        self._loop.call_soon_threadsafe(self._finish, code)

    def _finish(self, code: int) -> None:
        if not self.exited.done():
            self.exited.set_result(-SIGKILL if self._killed.is_set() else code)

    def kill_tree(self, sig: int = SIGKILL) -> None:
        """A thread cannot be killed: cut its channel so its dispatcher returns at once."""
        self._killed.set()
        try:
            self._channel.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class InProcessSpawner:
    """Runs ``python -m module args`` / ``python script.py args`` images by calling ``main(args)``.

    Any other existing program stands in for a plain (non-service) executable: it never connects
    and lives until killed, which is exactly what the SCM sees of ``/bin/sleep 60`` (B47).
    Plain programs it is asked to run (recovery commands) are recorded in ``commands``, not run.
    """

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def host_inline(self, argv: list[str], host: Host, account: Account | None = None) -> Process | None:
        return None

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> Process:
        resolve_image(argv[0])
        self.commands.append(list(argv))
        return _Finished(asyncio.get_running_loop())

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, channel: socket.socket,
              account: Account | None = None) -> Process:
        try:
            resolve_image(argv[0])
            main = self._python_main(argv)
        except BaseException:
            channel.close()
            raise
        loop = asyncio.get_running_loop()
        if main is None:
            return ThreadProcess(lambda: _wait_killed(), channel, loop)
        return ThreadProcess(main, channel, loop)

    @staticmethod
    def _python_main(argv: list[str]) -> Callable[[], object] | None:
        if len(argv) < 2 or "python" not in os.path.basename(argv[0]).lower():
            return None
        if argv[1] == "-m" and len(argv) > 2:
            import importlib

            module = importlib.import_module(argv[2])
            rest = argv[3:]
        elif argv[1].endswith(".py"):
            path = os.path.abspath(argv[1])
            if not os.path.exists(path):
                raise ScmError(ERROR_FILE_NOT_FOUND, path)
            name = "_svcctl_image_" + os.path.splitext(os.path.basename(path))[0]
            module = sys.modules.get(name)  # type: ignore[assignment]
            if module is None:
                import importlib.util

                spec = importlib.util.spec_from_file_location(name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            rest = argv[2:]
        else:
            return None
        entry = getattr(module, "main", None)
        if entry is None:
            return None
        return lambda: entry(rest)


def _wait_killed() -> None:
    from ..svc import channel as svc_channel

    killed = svc_channel.inprocess_killed()
    if killed is not None:
        killed.wait()


class _Finished:
    """A process that has already exited with status 0 (what the fake reports for commands)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        ThreadProcess._next_pid += 1
        self.pid = ThreadProcess._next_pid
        self.exited: asyncio.Future[int] = loop.create_future()
        self.exited.set_result(0)

    def kill_tree(self, sig: int = SIGKILL) -> None:
        pass

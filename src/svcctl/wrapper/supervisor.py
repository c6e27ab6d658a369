"""One wrapped program as a service: start, readiness, exit policy, health, stop chain, logs.

The supervisor is the service's ServiceMain and HandlerEx in one, written against two seams: a
:class:`~.process.ProcessLayer` (the OS) and a :class:`Reporter` (the SCM). It never blocks: it
runs on an event loop, so one loop can carry hundreds of wrapped services.

Life of a start: START_PENDING → program started (→ ready probe passes, checkpoints advancing)
→ RUNNING. When the program exits on its own, its exit code picks the action (``AppExit``):
Restart (after ``AppRestartDelay``, backing off exponentially while runs stay shorter than
``AppThrottle``), Ignore (the service stays up without it), Exit (the service stops: 1066 with
the exit code as service-specific code when it is not 0, so failure actions can fire) or Suicide
(the service ends as a crash). Every exit is logged with the last lines of standard error.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
from typing import TYPE_CHECKING, Any, Protocol

from .. import cmdline
from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_INVALID_PARAMETER,
    ERROR_PATH_NOT_FOUND,
    ERROR_PROCESS_ABORTED,
    ERROR_SERVICE_CANNOT_ACCEPT_CTRL,
    ERROR_SERVICE_SPECIFIC_ERROR,
    ERROR_SERVICE_START_HANG,
    ScmError,
)
from ..types import Accept, Control, State
from .logs import LogFile, Relay

if TYPE_CHECKING:
    from mmap import mmap

    from ..accounts import Account
    from .probes import Probe
from .process import CLOSE, INTERRUPT, KILL, ProcessLayer, Program, wake_waiter
from .settings import ROTATE_CONTROL, Settings

#: How often START_PENDING / STOP_PENDING checkpoints advance while the wrapper waits.
TICK_S = 0.25
ACCEPTS = int(Accept.STOP | Accept.SHUTDOWN | Accept.PAUSE_CONTINUE)
_PYTHON_NAMES = ("python", "pythonw", "py", "pypy", "pypy3")


class Reporter(Protocol):
    """Where a supervisor's status and events go (the service channel)."""

    def status(self, state: int, accepted: int = 0, win32: int = 0, specific: int = 0,
               checkpoint: int = 0, wait_hint: int = 0) -> None: ...

    def event(self, level: str, text: str) -> None: ...

    def crash(self, code: int) -> None:
        """End the service as if its process had died (the ``Suicide`` exit action)."""


def is_python(path: str) -> bool:
    base = os.path.basename(path).lower().removesuffix(".exe")
    return base.rstrip("0123456789.") in _PYTHON_NAMES


def exit_codes(status: int) -> tuple[int, int]:
    """(win32, service-specific) for a program's exit status: 0, or 1066 with the code."""
    code = 128 - status if status < 0 else status  # killed by signal N: 128+N, as shells say
    return (0, 0) if code == 0 else (ERROR_SERVICE_SPECIFIC_ERROR, code & 0xFFFFFFFF)


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with code {status}"


class Command:
    """What the program is and how it runs: argv, working directory, environment."""

    def __init__(self, settings: Settings, base_env: dict[str, str], args: list[str]) -> None:
        custom = settings["AppEnvironment"]
        env = _entries(custom) if custom else dict(base_env)
        for key, value in _entries(settings["AppEnvironmentExtra"]).items():
            env[key] = cmdline.expand_vars(value, env)
        app = cmdline.expand_vars(settings["Application"], env).strip()
        if not app:
            raise ScmError(ERROR_INVALID_PARAMETER, "Parameters\\Application is not set")
        if os.sep not in app:
            app = cmdline.which(app, env.get("PATH", os.defpath)) or app
        if is_python(app) and not settings["AppNoPythonUnbuffered"]:
            env.setdefault("PYTHONUNBUFFERED", "1")  # else a service's print() sits in a buffer
        cwd = cmdline.expand_vars(settings["AppDirectory"], env) or os.path.dirname(app) or "/"
        self.argv = [app, *cmdline.split(settings["AppParameters"], env), *args]
        self.cwd = cwd
        self.env = env


def _entries(lines: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key:
            out[key] = value
    return out


class Supervisor:
    def __init__(self, name: str, settings: Settings, layer: ProcessLayer, reporter: Reporter,
                 base_env: dict[str, str], args: list[str], scratch: mmap,
                 account: Account | None = None, relay: type[Relay] = Relay) -> None:
        self.name = name
        self.settings = settings
        self.layer = layer
        self.reporter = reporter
        self.base_env = base_env
        self.args = args
        self.scratch = scratch
        self.account = account  # who the program runs as (None: as the wrapper)
        self.relay = relay  # pipe -> log copier: Relay on the loop, winlogs.ThreadRelay on Windows
        self.state = State.START_PENDING
        self.program: Program | None = None
        self.started_at = 0.0
        self.command: Command | None = None
        #: Done once a stop (or the wrapper's end) is asked for. A bare future, not an
        #: asyncio.Event: an Event and the task waiting on it cost 1.6 KiB a running program.
        self._stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._paused = False
        self._killed = False
        self._checkpoint = 0
        self._quick_failures = 0
        self._logs: dict[str, LogFile] = {}
        self._relays: list[Relay] = []
        self._stderr: Relay | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- reporting -----------------------------------------------------------------------------

    def _report(self, state: State, *, win32: int = 0, specific: int = 0, wait_hint: int = 0) -> None:
        pending = state in (State.START_PENDING, State.STOP_PENDING, State.PAUSE_PENDING, State.CONTINUE_PENDING)
        if pending:
            self._checkpoint += 1
        accepted = ACCEPTS if state in (State.RUNNING, State.PAUSED) else 0
        if state is State.STOP_PENDING:
            accepted = 0
        self.state = state
        self.reporter.status(int(state), accepted, win32, specific, self._checkpoint if pending else 0,
                             wait_hint if pending else 0)

    def _stopped(self, win32: int = 0, specific: int = 0, *, report: bool = True) -> None:
        """The service is over: logs flushed and closed, the tree's cgroup or job freed, then
        STOPPED reported (``report=False``: the service ends as a crash instead)."""
        for relay in self._relays:
            relay.close()
        self._relays.clear()
        for log in set(self._logs.values()):
            log.close()
        if self.program is not None:
            self.program.release()
        if report:
            self._report(State.STOPPED, win32=win32, specific=specific)
        if not self.done.done():
            self.done.set_result(None)

    # --- the service's life --------------------------------------------------------------------

    async def run(self) -> None:
        s = self.settings
        probe_spec, health_spec = s["AppReadyProbe"], s["AppHealthProbe"]
        self._report(State.START_PENDING, wait_hint=s["AppReadyTimeout"] + 2000 if probe_spec else 2000)
        try:
            self.command = Command(s, self.base_env, self.args)
            if probe_spec or health_spec:
                from .probes import Probe  # only for the services that have probes
            ready = Probe(probe_spec) if probe_spec else None
            health = Probe(health_spec) if health_spec else None
            self._open_logs()
        except ScmError as exc:
            self.reporter.event("error", f"The {self.name} service's wrapper settings are wrong: {exc}")
            return self._stopped(exc.winerror)
        except OSError as exc:
            self.reporter.event("error", f"The {self.name} service cannot open its log file: {exc}")
            return self._stopped(ERROR_PATH_NOT_FOUND if isinstance(exc, FileNotFoundError) else ERROR_ACCESS_DENIED)
        if not await self._spawn():
            return
        if ready is not None and not await self._await_ready(ready):
            return
        self._report(State.RUNNING)
        while True:
            reason = await self._watch(health)
            if reason == "stop":
                await self._stop_program(report=True)
                return self._stopped()
            program = self.program
            assert program is not None
            if reason == "unhealthy":
                await self._stop_program(report=False)
                status, action = (program.exited.result() if program.exited.done() else -9), "Restart"
            else:
                status = program.exited.result()
                await self._end_tree()
                action = s.exit_action(exit_codes(status)[1])
            ran = time.monotonic() - self.started_at
            if action == "Exit":
                self._log_exit(status, ran, "the service stops.")
                return self._stopped(*exit_codes(status))
            if action == "Suicide":
                self._log_exit(status, ran, "the service ends as a crash (AppExit Suicide).")
                self._stopped(report=False)
                return self.reporter.crash(exit_codes(status)[1] or 1)
            if action == "Ignore":
                self._log_exit(status, ran, "ignored (AppExit Ignore): the service stays up without it.")
                self.program = None
                await asyncio.wait((self._stop,))
                return self._stopped()
            delay = self._restart_delay(ran)
            self._log_exit(status, ran, f"restarting in {delay} ms.")
            await asyncio.wait((self._stop,), timeout=delay / 1000)
            if self._stop.done():
                return self._stopped()
            program.release()  # the old tree is gone: free its cgroup or job before the next one
            if not await self._spawn():
                return

    def _restart_delay(self, ran_s: float) -> int:
        s = self.settings
        if ran_s * 1000 < s["AppThrottle"]:
            self._quick_failures += 1
            backoff = min(1000 * 2 ** (self._quick_failures - 1), s["AppThrottleMax"])
            return int(max(s["AppRestartDelay"], backoff))
        self._quick_failures = 0
        return int(s["AppRestartDelay"])

    def _log_exit(self, status: int, ran_s: float, action: str) -> None:
        assert self.command is not None
        text = f"The {self.name} service's program {self.command.argv[0]} {describe_exit(status)} after {ran_s:.1f} s"
        text += f" (working directory {self.command.cwd}): {action}"
        self.reporter.event("error" if status else "information", text + self._stderr_tail())

    def _stderr_tail(self) -> str:
        lines = self._stderr.last_lines() if self._stderr is not None else []
        return ("\nLast lines of its standard error:\n" + "\n".join("  " + ln for ln in lines)) if lines else ""

    # --- program start -------------------------------------------------------------------------

    def _open_logs(self) -> None:
        """One LogFile per path: stdout and stderr naming the same file share it."""
        s = self.settings
        assert self.command is not None
        by_path: dict[str, LogFile] = {}
        for key in ("AppStdout", "AppStderr"):
            path = cmdline.expand_vars(s[key], self.command.env)
            if not path:
                continue
            path = os.path.join(self.command.cwd, path)  # an absolute path stays as it is
            log = by_path.get(path)
            if log is None:
                log = by_path[path] = LogFile(path, max_bytes=s.rotate_bytes, max_age_s=s["AppRotateSeconds"],
                                              keep=s["AppRotateKeep"], online=bool(s["AppRotateOnline"]))
                log.open(rotate_existing=bool(s["AppRotateFiles"]))
                if self.account is not None and not self.account.is_daemon_user:
                    log.owner = (self.account.uid, self.account.gid)  # its logs are its own
                    log.chown()
            self._logs[key] = log

    async def _spawn(self) -> bool:
        """Start the program with its output relayed; on failure report STOPPED and say why."""
        cmd = self.command
        assert cmd is not None
        out_log, err_log = self._logs.get("AppStdout"), self._logs.get("AppStderr")
        timestamps = bool(self.settings["AppTimestampLog"])
        err_r, err_w = os.pipe()
        out_r = out_w = -1
        try:
            if out_log is not None and out_log is err_log:
                stdout = err_w  # one pipe keeps the two streams' lines in order, as a console does
            elif out_log is not None:
                out_r, out_w = os.pipe()
                stdout = out_w
            else:
                stdout = os.open(os.devnull, os.O_WRONLY)
                out_w = stdout
            self.program = await self.layer.start(cmd.argv, cmd.cwd, cmd.env, stdout, err_w, _label(self.name),
                                                  self.account)
            if self._killed:  # while the layer was starting it
                self.program.signal(KILL)
        except ScmError as exc:
            for fd in (err_r, out_r):
                if fd >= 0:
                    os.close(fd)
            self.reporter.event("error", f"The {self.name} service could not start {cmd.argv[0]} "
                                         f"(working directory {cmd.cwd}): {exc}")
            self._stopped(exc.winerror)
            return False
        finally:
            for fd in (err_w, out_w):
                if fd >= 0:
                    os.close(fd)
        self.started_at = time.monotonic()
        self._stderr = self.relay(err_r, err_log, self.scratch, timestamps=timestamps, keep_tail=True)
        self._relays = [self._stderr]
        if out_r >= 0:
            self._relays.append(self.relay(out_r, out_log, self.scratch, timestamps=timestamps))
        return True

    async def _await_ready(self, probe: Probe) -> bool:
        """START_PENDING until the probe passes; a program that exits or never gets ready fails
        the start with its exit code (1066) or 1070, and says why in the event log."""
        program, cmd = self.program, self.command
        assert program is not None and cmd is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings["AppReadyTimeout"] / 1000
        pause = 0.02
        while True:
            attempt = asyncio.ensure_future(probe.check(cmd.cwd, cmd.env))
            waits: set[asyncio.Future[Any]] = {attempt, program.exited}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if program.exited.done():
                attempt.cancel()
                status = program.exited.result()
                await self._end_tree()
                self._log_exit(status, time.monotonic() - self.started_at, "the start failed.")
                self._stopped(*exit_codes(status) if status else (ERROR_PROCESS_ABORTED, 0))
                return False
            error = attempt.result()
            if error is None:
                return True
            if loop.time() >= deadline:
                self.reporter.event("error", f"The {self.name} service's program was not ready within "
                                             f"{self.settings['AppReadyTimeout']} ms: {error}" + self._stderr_tail())
                await self._stop_program(report=False)
                self._stopped(ERROR_SERVICE_START_HANG)
                return False
            self._report(State.START_PENDING, wait_hint=int((deadline - loop.time()) * 1000) + 2000)
            await asyncio.wait({program.exited}, timeout=pause)
            pause = min(pause * 2, TICK_S)

    # --- while running -------------------------------------------------------------------------

    async def _watch(self, health: Probe | None) -> str:
        program = self.program
        assert program is not None
        waits: list[asyncio.Future[Any]] = [program.exited, self._stop]
        if health is not None:
            waits.append(asyncio.ensure_future(self._health(health)))
        try:
            await _first_done(waits)
        finally:
            if health is not None:
                waits[-1].cancel()
        if self._stop.done():
            return "stop"
        if program.exited.done():
            return "exit"
        return "unhealthy"

    async def _health(self, probe: Probe) -> None:
        """Returns once the probe failed AppHealthRetries times in a row."""
        assert self.command is not None
        failures = 0
        while True:
            await asyncio.sleep(self.settings["AppHealthInterval"] / 1000)
            if self._paused:
                continue
            error = await probe.check(self.command.cwd, self.command.env)
            failures = 0 if error is None else failures + 1
            if failures >= max(1, self.settings["AppHealthRetries"]):
                self.reporter.event("warning", f"The {self.name} service's program is unhealthy "
                                               f"({failures} failed probes; last: {error}): restarting it.")
                return

    async def _end_tree(self, gone: bool = False) -> None:
        """The main process ended: nothing it started may outlive it (``gone``: the whole tree
        is known to be gone already)."""
        program = self.program
        if program is not None and not gone and program.alive():
            program.signal(KILL)
            await program.gone(self.settings["AppStopMethodThreads"] / 1000)
        for relay in self._relays:
            relay.close()

    async def _stop_program(self, report: bool) -> None:
        """The stop chain on the whole tree: SIGINT, SIGTERM, then SIGKILL, each waited for."""
        program = self.program
        if program is None:
            return
        s = self.settings
        steps = []
        if not s["AppStopMethodSkip"] & 1:
            steps.append((INTERRUPT, s["AppStopMethodConsole"]))
        if not s["AppStopMethodSkip"] & 2:
            steps.append((CLOSE, s["AppStopMethodWindow"]))
        steps.append((KILL, s["AppStopMethodThreads"]))
        if self._paused:
            program.resume()  # a frozen tree cannot act on a signal
            self._paused = False
        remaining = sum(ms for _, ms in steps)
        for step, ms in steps:
            program.signal(step)
            end = time.monotonic() + ms / 1000
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                if await program.gone(min(left, TICK_S)):
                    await self._end_tree(gone=True)
                    return
                if report:
                    self._report(State.STOP_PENDING, wait_hint=int(remaining - (ms - left * 1000)) + 1000)
            remaining -= ms
        if program.alive():
            self.reporter.event("warning", f"The {self.name} service's program left processes that "
                                           "outlived SIGKILL.")
        await self._end_tree()

    # --- controls (HandlerEx) ------------------------------------------------------------------

    def control(self, code: int) -> int:
        if code in (Control.STOP, Control.SHUTDOWN):
            if self.state in (State.STOPPED, State.STOP_PENDING):
                return 0
            s = self.settings
            self._report(State.STOP_PENDING, wait_hint=s["AppStopMethodConsole"] + s["AppStopMethodWindow"]
                         + s["AppStopMethodThreads"] + 1000)
            self._request_stop()
            return 0
        if code == Control.PAUSE or code == Control.CONTINUE:
            if self.state not in (State.RUNNING, State.PAUSED):
                return ERROR_SERVICE_CANNOT_ACCEPT_CTRL
            if self.program is not None and not self.program.exited.done():
                (self.program.suspend if code == Control.PAUSE else self.program.resume)()
            self._paused = code == Control.PAUSE
            self._report(State.PAUSED if self._paused else State.RUNNING)
            return 0
        if code == Control.INTERROGATE:
            return 0
        if code == ROTATE_CONTROL:
            for log in set(self._logs.values()):
                log.rotate()
            return 0
        return ERROR_CALL_NOT_IMPLEMENTED

    def kill(self) -> None:
        """The wrapper itself is being killed: the program's tree goes with it, at once."""
        self._killed = True
        if self.program is not None:
            self.program.signal(KILL)
        self._request_stop()

    def _request_stop(self) -> None:
        if not self._stop.done():
            self._stop.set_result(None)


async def _first_done(futures: list[asyncio.Future[Any]]) -> None:
    """Wait until one of ``futures`` is done, cancelling none of them. What asyncio.wait does,
    without its coroutine and set: a supervisor waits like this for as long as its
    program runs, and with hundreds of programs on one loop that was 1.4 KiB each."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    wake = functools.partial(wake_waiter, waiter)
    for fut in futures:
        fut.add_done_callback(wake)
    try:
        await waiter
    finally:
        for fut in futures:
            fut.remove_done_callback(wake)


def _label(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:64] or "service"

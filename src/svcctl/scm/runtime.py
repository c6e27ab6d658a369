"""The SCM's live half: launching images, relaying controls, tracking status.

Every status change of every service goes through :meth:`Runtime.set_status`, which applies
Windows' reporting rules (B80-B87), writes the event log and wakes whoever waits on the service.
Time comes from the event loop's clock only; the OS is reached only through the ``Spawner``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from .. import cmdline
from ..errors import (
    ERROR_DIFFERENT_SERVICE_ACCOUNT,
    ERROR_INVALID_SERVICE_CONTROL,
    ERROR_NO_RECOVERY_PROGRAM,
    ERROR_NOT_SUPPORTED,
    ERROR_PROCESS_ABORTED,
    ERROR_SERVICE_CANNOT_ACCEPT_CTRL,
    ERROR_SERVICE_NOT_ACTIVE,
    ERROR_SERVICE_NOT_IN_EXE,
    ERROR_SERVICE_REQUEST_TIMEOUT,
    ERROR_SERVICE_SPECIFIC_ERROR,
    ERROR_SERVICE_START_HANG,
    ScmError,
    message,
)
from ..types import CONTROL_ACCEPT, Accept, ActionType, Control, ServiceType, State
from .events import STATE_WORDS, EventLog
from .host import Host
from .oslayer import Spawner
from .record import ServiceRecord
from .recovery import ACTION_TEXT, Recovery, expand_failure_count

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml)
if TYPE_CHECKING:
    from ..accounts import Account

#: Wait hint the SCM itself reports right after StartService (B48).
START_WAIT_HINT_MS = 2000
#: A hang timer that fires with less than this left before ``hang_at`` declares the hang.
HANG_SLACK_S = 0.001
#: How long a process exit waits for the rest of the process's channel to be read.
CHANNEL_DRAIN_S = 1.0
#: At shutdown, how long a process whose services all stopped may take to exit before it is killed.
SHUTDOWN_EXIT_GRACE_S = 1.0
#: The controls whose delivery is logged (7035), as ReactOS's RControlService logs them: those a
#: client sends. The SCM's own PRESHUTDOWN and SHUTDOWN notices are not.
LOGGED_CONTROLS = {1: "stop", 2: "pause", 3: "continue"}


class Settings:
    """Timeouts and switches of one SCM; the daemon fills them from flags and Control values."""

    def __init__(
        self,
        pipe_timeout_ms: int = 30000,  # ServicesPipeTimeout (B47)
        handler_timeout_ms: int = 30000,  # HandlerEx must return within 30 s (B69)
        exit_grace_ms: int = 5000,  # after the last service of a process stopped
        serialize_starts: bool = False,  # Windows' global start lock (B51); off so boots run in parallel
        serialize_controls: bool = False,  # Windows' SCM-wide handler serialization (B69); else per process
        service_cwd: str = "/",  # a service's working directory, like %SystemRoot%\System32 on Windows
        reboot_command: str | None = None,  # what a REBOOT failure action runs; None: refused, logged
        hung_start_ms: int = 80000,  # B52: START_PENDING without progress for this long plus the wait hint
        delayed_start_ms: int = 120000,  # B127: delayed auto-start services start this long after boot
        base_env: dict[str, str] | None = None,  # default: a copy of this process's environment
        collect_after_exit_s: float | None = None,
    ) -> None:
        self.pipe_timeout_ms = pipe_timeout_ms
        self.handler_timeout_ms = handler_timeout_ms
        self.exit_grace_ms = exit_grace_ms
        self.serialize_starts = serialize_starts
        self.serialize_controls = serialize_controls
        self.service_cwd = service_cwd
        self.reboot_command = reboot_command
        self.hung_start_ms = hung_start_ms
        self.delayed_start_ms = delayed_start_ms
        self.base_env = dict(os.environ) if base_env is None else base_env
        #: A full garbage collection this long after a service process ended (one for a burst of
        #: exits; None: the collector's own schedule). What a started service leaves behind (its
        #: host, a hosted wrapper's supervisor, futures, callbacks) is held in reference cycles, which
        #: only a full collection frees, and the collector runs one only after several start/stop
        #: rounds of many services: the daemon's memory rose 1 MiB a round with 200 wrapped programs.
        #: Collected soon, that memory is reused by the next starts. The daemon sets 0.25 s.
        self.collect_after_exit_s = collect_after_exit_s


split_command_line = cmdline.split


class Runtime:
    def __init__(self, spawner: Spawner, events: EventLog, settings: Settings) -> None:
        self.spawner = spawner
        self.events = events
        self.settings = settings
        #: Every host whose process has not been seen to end, in launch order (a dict: O(1) removal).
        self.hosts: dict[Host, None] = {}
        self._start_lock = asyncio.Lock()
        self._control_locks: dict[int, asyncio.Lock] = {}
        self._global_control_lock = asyncio.Lock()
        self._collect: asyncio.TimerHandle | None = None
        #: Called with a record after it reached STOPPED (deferred deletion).
        self.on_stopped: Callable[[ServiceRecord, bool], None] = lambda rec, crashed: None
        #: Failure actions (B111-B118); the SCM core wires its restart into it.
        self.recovery: Recovery | None = None
        self._system_account: Account | None = None  # LocalSystem: the daemon's own, resolved once
        #: Set by stop_all: it gives every stopped process its exit grace itself, at once.
        self._stopping_all = False

    # --- the one state-change function ---------------------------------------------------------

    def set_status(
        self,
        rec: ServiceRecord,
        state: State,
        *,
        accepted: int | None = None,
        win32: int = 0,
        service: int = 0,
        checkpoint: int = 0,
        wait_hint: int = 0,
        crashed: bool = False,
        start_failed: bool = False,
    ) -> None:
        old = rec.state
        rec.state = state
        rec.checkpoint = checkpoint
        rec.wait_hint = wait_hint
        if state is State.STOPPED:
            rec.accepted = Accept.NONE
            rec.pid = 0
            rec.stop_sent = False
            rec.win32_exit = win32
            rec.service_exit = service if win32 == ERROR_SERVICE_SPECIFIC_ERROR else 0
            host, rec.host = rec.host, None
            if host is not None:
                host.records = {k: r for k, r in host.records.items() if r is not rec}
                if not host.records:
                    self._host_idle(host)
        else:
            if accepted is not None:
                rec.accepted = Accept(accepted & 0xFFF)
            rec.win32_exit = win32
            rec.service_exit = service if win32 == ERROR_SERVICE_SPECIFIC_ERROR else 0
            rec.pid = rec.host.pid if rec.host else 0
        self._watch_start(rec)
        if state is not old and not state.pending:
            self.events.write(7036, rec.name, rec.shown_name, STATE_WORDS[state], data={"state": int(state)})
        if state is State.STOPPED and old is not State.STOPPED:
            if not crashed and win32 == ERROR_SERVICE_SPECIFIC_ERROR:  # B85
                self.events.write(7024, rec.name, rec.shown_name, service, data={"win32": win32, "service": service})
            elif not crashed and win32:
                self.events.write(7023, rec.name, rec.shown_name, message(win32), data={"win32": win32})
            if not start_failed:  # a start the SCM saw fail (1053, 2, ...) is not a service failure
                self._failure(rec, crashed, win32)
        self.notify(rec)
        if state is State.STOPPED and old is not State.STOPPED:
            self.on_stopped(rec, crashed)

    @staticmethod
    def notify(rec: ServiceRecord) -> None:
        """Wake everyone waiting on ``rec`` (a status change, or the end of a start attempt)."""
        if rec.waiters:
            waiters, rec.waiters = rec.waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def _watch_start(self, rec: ServiceRecord) -> None:
        """B52: every START_PENDING report re-arms the hang timer (hung_start_ms + wait hint).
        One timer per start: a report only moves ``rec.hang_at``, and the timer, firing before
        that, re-arms itself for the rest (cancelling and remaking it per report cost a start
        two timers more)."""
        timer = rec.watchdog
        if rec.state is not State.START_PENDING:
            if timer is not None:
                timer.cancel()
                rec.watchdog = None
            return
        loop = asyncio.get_running_loop()
        rec.hang_at = loop.time() + (self.settings.hung_start_ms + rec.wait_hint) / 1000
        if timer is not None:
            if timer.when() <= rec.hang_at:
                return
            timer.cancel()  # a shorter wait hint: the deadline came closer
        rec.watchdog = loop.call_at(rec.hang_at, self._hung, rec)

    def _hung(self, rec: ServiceRecord) -> None:
        """A start that stopped making progress: log 7022, end it with 1070 (its process too,
        unless other services share that process)."""
        rec.watchdog = None
        if rec.state is not State.START_PENDING:
            return
        loop = asyncio.get_running_loop()
        if rec.hang_at - loop.time() > HANG_SLACK_S:  # progress was reported meanwhile
            rec.watchdog = loop.call_at(rec.hang_at, self._hung, rec)
            return
        host = rec.host
        self.events.write(7022, rec.name, rec.shown_name, data={"wait_hint": rec.wait_hint})
        self.set_status(rec, State.STOPPED, win32=ERROR_SERVICE_START_HANG, start_failed=True)
        if host is not None and not host.records and host.process is not None:
            host.process.kill_tree(signal.SIGKILL)

    def _failure(self, rec: ServiceRecord, crashed: bool, win32: int) -> None:
        """Count a failure, log 7031/7034 with its number and action, queue the action (B111-B120)."""
        recovery = self.recovery
        if recovery is None or not recovery.is_failure(rec, crashed, win32):
            return
        count = recovery.count(rec)
        action = recovery.action_for(rec, count)
        data = {"win32": win32, "failures": count, "crashed": crashed}
        if action is None:
            self.events.write(7034, rec.name, rec.shown_name, count, data=data)
            return
        self.events.write(
            7031, rec.name, rec.shown_name, count, action.delay_ms, ACTION_TEXT[action.type],
            data={**data, "action": int(action.type), "delay_ms": action.delay_ms},
        )
        recovery.schedule(rec, action, count)

    async def run_command(self, rec: ServiceRecord, command: str, count: int) -> None:
        """RUN_COMMAND (B119): the recovery program, ``%1%`` being the failure count."""
        argv = split_command_line(expand_failure_count(command, count))
        try:
            if not argv:
                raise ScmError(ERROR_NO_RECOVERY_PROGRAM)
            proc = self.spawner.run(argv, dict(self.settings.base_env), self.settings.service_cwd)
            await proc.exited
        except ScmError as exc:
            self.events.write(7032, rec.name, ACTION_TEXT[ActionType.RUN_COMMAND], rec.shown_name,
                              message(exc.winerror), data={"win32": exc.winerror})

    async def reboot(self, rec: ServiceRecord, count: int) -> None:
        """REBOOT: the daemon's host action (``--reboot-command``), off unless configured."""
        command = self.settings.reboot_command
        if not command:
            self.events.write(7032, rec.name, ACTION_TEXT[ActionType.REBOOT], rec.shown_name,
                              message(ERROR_NOT_SUPPORTED) + " (svcctl serve --reboot-command is not set)",
                              data={"win32": ERROR_NOT_SUPPORTED})
            return
        await self.run_command(rec, command, count)

    async def changed(self, *records: ServiceRecord, timeout: float | None) -> bool:
        """Wait until the status of any of ``records`` changes (one future shared by all of
        them); False on timeout."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for rec in records:
            rec.waiters.append(fut)  # notify() resolves it at the first change
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False

    # --- start -----------------------------------------------------------------------------------

    async def start(self, rec: ServiceRecord, args: list[str]) -> None:
        """StartService after the caller's checks: returns once ServiceMain runs (B48)."""
        if self.settings.serialize_controls:  # B69: StartService waits while any handler runs
            (await self._handler_slot(None)).release()
        if self.settings.serialize_starts:
            async with self._start_lock:
                await self._start(rec, args)
                while rec.state is State.START_PENDING:  # B51: held until RUNNING or failure
                    await self.changed(rec, timeout=None)
        else:
            await self._start(rec, args)

    async def _start(self, rec: ServiceRecord, args: list[str]) -> None:
        rec.starting = True
        try:
            host = self._shared_host(rec)
            self.set_status(rec, State.START_PENDING, accepted=0, wait_hint=START_WAIT_HINT_MS)
            if host is None:
                host = await self._launch(rec)
            entry = rec.name if host.serves(rec.name) else None
            if entry is None and not rec.service_type & ServiceType.WIN32_SHARE_PROCESS and host.table:
                entry = host.table[0]  # own-process images may name their one service anything (B54)
            if entry is None:
                raise ScmError(ERROR_SERVICE_NOT_IN_EXE, rec.name)
            rec.host = host
            host.records[entry.lower()] = rec
            self.set_status(rec, State.START_PENDING, accepted=0, wait_hint=START_WAIT_HINT_MS)
            await host.request("start", self.settings.pipe_timeout_ms / 1000, name=entry, argv=[rec.name, *args])
        except ScmError as exc:
            self.events.write(7000, rec.name, rec.shown_name, message(exc.winerror), data={"win32": exc.winerror})
            if rec.state is not State.STOPPED:
                self.set_status(rec, State.STOPPED, win32=exc.winerror, start_failed=True)
            raise
        finally:
            rec.starting = False
            self.notify(rec)  # dependents wait on this flag too

    def _shared_host(self, rec: ServiceRecord) -> Host | None:
        if not rec.service_type & ServiceType.WIN32_SHARE_PROCESS:
            return None
        image = rec.image_path.casefold()
        for host in self.hosts:
            if host.image == image and not host.closing and host.hello.done() and not host.hello.exception():
                if host.account.casefold() != (rec.object_name or "LocalSystem").casefold():
                    raise ScmError(ERROR_DIFFERENT_SERVICE_ACCOUNT, rec.name)
                return host
        return None

    async def _launch(self, rec: ServiceRecord) -> Host:
        argv = split_command_line(rec.image_path)
        if not argv:
            raise ScmError(2, "empty image path")
        loop = asyncio.get_running_loop()
        host = Host(rec.image_path.casefold(), rec.object_name or "LocalSystem", self._on_status, self._on_lost,
                    self._on_event)
        account = self._logon(rec.object_name)  # B146: who the image runs as
        hosted = self.spawner.host_inline(argv, host, account)  # an image the SCM runs on its own loop
        if hosted is None:
            # (svcctl.svc, the service side, loads only once a service process is launched)
            from ..svc.channel import ENV_CHANNEL

            ours, theirs = socket.socketpair()
            try:
                env = dict(self.settings.base_env)
                env[ENV_CHANNEL] = f"fd:{theirs.fileno()}"
                proc = self.spawner.spawn(argv, env, self.settings.service_cwd, theirs, account)
            except BaseException:
                ours.close()
                raise
        else:
            proc = hosted
        host.process = proc
        rec.host = host
        rec.pid = proc.pid
        self.hosts[host] = None
        if hosted is None:
            await loop.create_unix_connection(lambda: host, sock=ours)
        proc.exited.add_done_callback(lambda fut: self._on_exit(host))
        if host.hello.done() and host.hello.exception() is None:
            return host  # a hosted image says hello as it is linked
        timeout = self.settings.pipe_timeout_ms / 1000
        waits: set[asyncio.Future[Any]] = {host.hello, proc.exited}
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if host.hello in done and host.hello.exception() is None:
            return host
        if not done:  # B47: never connected within ServicesPipeTimeout
            self.events.write(7009, rec.name, self.settings.pipe_timeout_ms, rec.shown_name)
        host.closing = True
        proc.kill_tree(signal.SIGKILL)
        rec.host = None
        raise ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, "the process did not connect to the service controller")

    def _logon(self, object_name: str | None) -> Account:
        """Other accounts are looked up at every start, as Windows logs them on; LocalSystem is
        this daemon's own user, which cannot change under it."""
        from ..accounts import LOCAL_SYSTEM_NAMES, logon  # (pwd: POSIX only, and only needed here)

        if (object_name or "").strip().lower() not in LOCAL_SYSTEM_NAMES:
            return logon(object_name or "")
        if self._system_account is None:
            self._system_account = logon("LocalSystem")
        return self._system_account

    # --- messages from service processes -------------------------------------------------------

    def _on_status(self, host: Host, name: str, s: list[int]) -> None:
        rec = host.records.get(name.lower())
        if rec is None or rec.host is not host or not 1 <= s[1] <= 7:
            return  # stale handle or invalid state (B83): the service side already refused it
        win32 = s[3] & 0xFFFFFFFF
        self.set_status(
            rec,
            State(s[1]),
            accepted=s[2],
            win32=win32,
            service=s[4] & 0xFFFFFFFF,
            checkpoint=s[5] & 0xFFFFFFFF,
            wait_hint=s[6] & 0xFFFFFFFF,
        )

    def _on_event(self, host: Host, name: str, level: str, text: str) -> None:
        """A service reports an event about itself (the wrapper: why its program stopped)."""
        rec = host.records.get(name.lower())
        if rec is not None and rec.host is host:
            self.events.write(7920, rec.name, text, level="info" if level == "information" else level)

    def _on_lost(self, host: Host) -> None:
        """A process that still runs services but dropped its channel cannot be managed: end it
        (_on_exit does the bookkeeping). One whose services all stopped may finish its cleanup
        within the exit grace period (_host_idle)."""
        if host.closing:
            return
        if host.process is not None and not host.process.exited.done():
            host.process.kill_tree(signal.SIGKILL)

    def _on_exit(self, host: Host) -> None:
        """The process ended. What it sent before (its STOPPED report may still be in the socket)
        is read first: the end of its channel is waited for, but no longer than CHANNEL_DRAIN_S,
        as a grandchild holding the channel open must not stall this. Callbacks, not a task:
        at shutdown this runs for every service process at once."""
        if host.closed.done():
            return self._ended(host)
        # The process closed its end as it exited, and that end is usually read in this same
        # loop iteration, after this: look again then, before arming a timer (at a shutdown of
        # 200 services, a timer made and cancelled for 198 of them).
        asyncio.get_running_loop().call_soon(self._drain, host)

    def _drain(self, host: Host) -> None:
        if host.closed.done():
            return self._ended(host)
        timer = asyncio.get_running_loop().call_later(CHANNEL_DRAIN_S, self._ended, host)

        def drained(_: object) -> None:
            timer.cancel()
            self._ended(host)

        host.closed.add_done_callback(drained)

    def _ended(self, host: Host) -> None:
        if host not in self.hosts:
            return  # already done (the drain timer and the channel's end both came)
        del self.hosts[host]
        host.closing = True
        host.abort()
        if host.grace is not None:
            host.grace.cancel()
        self._control_locks.pop(id(host), None)
        for rec in list(host.records.values()):
            if rec.host is host and rec.state is not State.STOPPED:
                self.set_status(rec, State.STOPPED, win32=ERROR_PROCESS_ABORTED, crashed=True)  # B86
        host.records.clear()
        delay = self.settings.collect_after_exit_s
        if delay is not None and self._collect is None:
            self._collect = asyncio.get_running_loop().call_later(delay, self._collect_garbage)

    def _collect_garbage(self) -> None:
        self._collect = None
        gc.collect()

    def _host_idle(self, host: Host) -> None:
        """The last service of a process stopped: its dispatcher returns and the process should
        end; if it lingers past the grace period it is ended, so nothing is left behind."""
        host.closing = True
        proc = host.process
        if proc is None or proc.exited.done() or host.grace is not None or self._stopping_all:
            return
        host.grace = asyncio.get_running_loop().call_later(self.settings.exit_grace_ms / 1000, proc.kill_tree,
                                                           signal.SIGKILL)  # cancelled by _ended

    # --- controls --------------------------------------------------------------------------------

    def check_control(self, rec: ServiceRecord, code: int) -> None:
        """The state table of ControlService (B63, B64, B70)."""
        state = rec.state
        if state is State.STOPPED:
            raise ScmError(ERROR_SERVICE_NOT_ACTIVE)
        if state is State.STOP_PENDING or rec.stop_sent:
            raise ScmError(ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
        if state is State.START_PENDING and code != Control.STOP:
            raise ScmError(ERROR_SERVICE_CANNOT_ACCEPT_CTRL)
        needed = CONTROL_ACCEPT.get(code)
        if needed is not None and not rec.accepted & needed:
            raise ScmError(ERROR_INVALID_SERVICE_CONTROL)

    async def control(self, rec: ServiceRecord, code: int, event_type: int = 0, data: Any = None) -> Any:
        """Deliver a control to the service's handler; its return value comes back (B68)."""
        host = rec.host
        if host is None:
            raise ScmError(ERROR_SERVICE_NOT_ACTIVE)
        timeout = self.settings.handler_timeout_ms / 1000
        slot = await self._handler_slot(host)
        try:
            if code in (Control.STOP, Control.SHUTDOWN, Control.PRESHUTDOWN):
                rec.stop_sent = True  # B70: nothing more is sent after STOP
            ret = await host.request("control", timeout, name=_entry(host, rec), code=code, event=event_type,
                                     data=data)
        finally:
            slot.release()
        if code in LOGGED_CONTROLS:
            self.events.write(7035, rec.name, rec.shown_name, LOGGED_CONTROLS[code], data={"control": code})
        return ret

    async def _handler_slot(self, host: Host | None) -> asyncio.Lock:
        """One handler at a time (B69): per service process, or SCM-wide when serialize_controls.
        Waiting longer than the handler timeout fails with 1053, as on Windows. Returns the lock,
        held: the caller releases it (a plain try/finally; an async context manager cost each
        control a generator and its wrapper)."""
        lock = self._global_control_lock
        if not self.settings.serialize_controls and host is not None:
            lock = self._control_locks.get(id(host)) or self._control_locks.setdefault(id(host), asyncio.Lock())
        try:
            if lock.locked():
                await asyncio.wait_for(lock.acquire(), self.settings.handler_timeout_ms / 1000)
            else:
                await lock.acquire()  # free: no timer, no task
        except TimeoutError:
            raise ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, "another control is still being handled") from None
        return lock

    # --- shutdown ------------------------------------------------------------------------------

    async def stop_all(self, records: list[ServiceRecord], timeout_ms: int) -> None:
        """System shutdown (B132-B137). Phase 1: PRESHUTDOWN to services that accept it, each
        waited for up to its preshutdown timeout. Phase 2: SHUTDOWN, in database order, to the
        others that accept it, all waited for until WaitToKillServiceTimeout (``timeout_ms``).
        Then every process tree still there is ended, and reaped."""
        loop = asyncio.get_running_loop()
        self._stopping_all = True
        live = [r for r in records if r.state is not State.STOPPED and r.host is not None]
        pre = [r for r in live if r.accepted & Accept.PRESHUTDOWN and not r.stop_sent]
        await asyncio.gather(*(self._shutdown_one(r, Control.PRESHUTDOWN, r.preshutdown_timeout) for r in pre))
        deadline = loop.time() + timeout_ms / 1000
        rest = [r for r in live if r not in pre and r.state is not State.STOPPED]
        # B133: sent in database order, dependencies not considered.
        for rec in rest:
            if rec.accepted & Accept.SHUTDOWN and not rec.stop_sent and rec.state is not State.START_PENDING:
                self._notify_shutdown(rec)
        await self._until_stopped(rest, deadline)
        hosts = list(self.hosts)
        # Processes whose services all stopped get a moment to leave on their own (atexit
        # handlers, flushes); the rest, and whatever outlives that moment, is killed.
        leaving = [h.process.exited for h in hosts if h.process is not None and not h.process.exited.done()
                   and all(r.state is State.STOPPED for r in h.records.values())]
        if leaving:
            grace = min(deadline, loop.time() + SHUTDOWN_EXIT_GRACE_S) - loop.time()
            await asyncio.wait(leaving, timeout=max(grace, 0))
        for host in hosts:
            if host.process is not None:
                host.process.kill_tree(signal.SIGKILL)
        for host in hosts:
            if host.process is not None:
                await host.process.exited

    async def _until_stopped(self, records: list[ServiceRecord], deadline: float) -> None:
        """Wait until all of ``records`` are STOPPED, or the loop's clock reaches ``deadline``:
        one wait for a change of any of them at a time, not a future and timer per record."""
        loop = asyncio.get_running_loop()
        left = [r for r in records if r.state is not State.STOPPED]
        while left and await self.changed(*left, timeout=max(0.0, deadline - loop.time())):
            left = [r for r in left if r.state is not State.STOPPED]

    def _notify_shutdown(self, rec: ServiceRecord) -> None:
        """SHUTDOWN as a notice: what the SCM waits for is STOPPED, and the handler's return value
        changes nothing (B135: an error only delays shutdown), so no answer is asked for. One slow
        handler then cannot hold back the notice to any other service, nor cost a reply each."""
        host = rec.host
        if host is not None:
            rec.stop_sent = True  # B70: nothing more is sent after it
            host.notify("control", name=_entry(host, rec), code=int(Control.SHUTDOWN), event=0, data=None)

    async def _shutdown_one(self, rec: ServiceRecord, code: int, timeout_ms: int) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        try:
            await self.control(rec, code)
        except ScmError:
            return
        await self._until_stopped([rec], deadline)


def _entry(host: Host, rec: ServiceRecord) -> str:
    """The name ``rec`` has in its process's service table (what the process registered)."""
    return next((k for k, r in host.records.items() if r is rec), rec.name)

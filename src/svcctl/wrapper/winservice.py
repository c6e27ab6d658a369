r"""``python -m svcctl.wrapper`` under the Windows SCM: one service, its Supervisor on an event loop.

The image ``"<python.exe>" -m svcctl.wrapper`` is an ordinary own-process service: the
:class:`~svcctl.svc.win32.Win32Dispatcher` gets a one-entry table (the entry answers to any
service name, B54), and ServiceMain runs an asyncio loop in Windows' ServiceMain thread with the
platform-neutral :class:`~.supervisor.Supervisor` on it, given :mod:`.windows`' process layer and
this module's Reporter. HandlerEx runs on a thread of Windows', so it forwards each control to
the loop and waits for the supervisor's answer, as the SCM waits for HandlerEx.

Settings are read with winreg from ``HKLM\SYSTEM\CurrentControlSet\Services\<name>\Parameters``
(and its ``AppExit`` key), as srvany reads its own. The program's environment is the service's
own (what services.exe gave this process) plus ``SVCCTL_SERVICE_NAME``; ``Command`` adds the
Parameters' entries. Events go to the Application event log (ReportEventW, source = the service
name) and, timestamped, to this process's stderr, which the dispatcher sends to
``%ProgramData%\svcctl\logs\<name>.log``: the file can be read back everywhere (Wine has no
event log to read), and it has the events in order next to the wrapper's own errors.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import winreg
from typing import Any

from ..errors import ERROR_FAILED_SERVICE_CONTROLLER_CONNECT, ERROR_SERVICE_CANNOT_ACCEPT_CTRL, ScmError
from ..types import Control, State

assert sys.platform == "win32", "svcctl.wrapper.winservice is Windows-only"

from ..svc.status import StatusHandle  # noqa: E402
from ..svc.win32 import Win32Dispatcher  # noqa: E402
from ..winapi import wrapper32 as w  # noqa: E402
from .host import TABLE_NAME  # noqa: E402
from .logs import scratch_buffer  # noqa: E402
from .settings import Settings  # noqa: E402
from .supervisor import Supervisor  # noqa: E402
from .windows import WindowsProcessLayer  # noqa: E402
from .winlogs import ThreadRelay  # noqa: E402

Values = dict[str, tuple[int, Any]]
SERVICES_KEY = "SYSTEM\\CurrentControlSet\\Services"
#: The event id of every wrapper event (the guide's "ID 7920").
EVENT_ID = 7920
_LEVELS = {"error": w.EVENTLOG_ERROR_TYPE, "warning": w.EVENTLOG_WARNING_TYPE}
#: How long HandlerEx waits for the loop's answer before it answers for it.
CONTROL_WAIT_S = 5.0


def read_parameters(name: str) -> tuple[Values, Values]:
    """(Parameters' values, Parameters\\AppExit's values); a missing key reads as empty."""
    return _values(f"{SERVICES_KEY}\\{name}\\Parameters"), _values(f"{SERVICES_KEY}\\{name}\\Parameters\\AppExit")


def _values(path: str) -> Values:
    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path)
    except OSError:
        return {}
    out: Values = {}
    with key:
        for i in range(winreg.QueryInfoKey(key)[1]):
            try:
                name, data, vtype = winreg.EnumValue(key, i)
            except OSError:
                break
            out[name] = (vtype, tuple(data) if vtype == winreg.REG_MULTI_SZ else data)
    return out


class WinReporter:
    """The Supervisor's Reporter: SetServiceStatus, and events to the log and the event log."""

    def __init__(self, name: str, status: StatusHandle) -> None:
        self.name = name
        self.handle = status
        self._source: int | None = None
        try:
            self._source = int(w.RegisterEventSourceW(None, name))
        except OSError:
            pass

    def status(self, state: int, accepted: int = 0, win32: int = 0, specific: int = 0,
               checkpoint: int = 0, wait_hint: int = 0) -> None:
        try:
            self.handle.set(state, accepted=accepted, win32_exit_code=win32, service_exit_code=specific,
                            checkpoint=checkpoint, wait_hint=wait_hint)
        except ScmError:
            pass  # after STOPPED (6): nothing is listening any more

    def event(self, level: str, text: str) -> None:
        print(f"svcctl.wrapper {level}: {text}", file=sys.stderr, flush=True)
        if self._source is not None:
            try:
                w.report_event(self._source, _LEVELS.get(level, w.EVENTLOG_INFORMATION_TYPE), EVENT_ID, text)
            except OSError:
                pass

    def crash(self, code: int) -> None:
        """The Suicide action: end the process without STOPPED, so the SCM sees a crash (1067)
        and runs the failure actions. The program's job dies with the process."""
        sys.stderr.flush()
        os._exit(code)

    def close(self) -> None:
        if self._source is not None:
            w.DeregisterEventSource(self._source)
            self._source = None


class WrappedService:
    """One start of the wrapped service: ServiceMain's loop and HandlerEx's way into it."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.supervisor: Supervisor | None = None
        self._ready = threading.Event()

    def handler(self, control: int, event_type: int, data: object) -> int:
        """HandlerEx, on Windows' thread: the supervisor answers on its loop."""
        loop, supervisor = self.loop, self.supervisor
        if loop is None or supervisor is None or loop.is_closed():
            return 0 if control == Control.INTERROGATE else ERROR_SERVICE_CANNOT_ACCEPT_CTRL
        answer: concurrent.futures.Future[int] = concurrent.futures.Future()

        def call() -> None:
            try:
                answer.set_result(supervisor.control(control))
            except BaseException as exc:  # reaches HandlerEx's 1064 below
                answer.set_exception(exc)

        try:
            loop.call_soon_threadsafe(call)
            return answer.result(CONTROL_WAIT_S)
        except (RuntimeError, concurrent.futures.TimeoutError):
            return 0 if control == Control.INTERROGATE else ERROR_SERVICE_CANNOT_ACCEPT_CTRL

    def main(self, dispatcher: Any, argv: list[str]) -> None:
        """ServiceMain: argv[0] is the service's name, then the start arguments."""
        name = argv[0]
        status = dispatcher.register(name, self.handler)
        reporter = WinReporter(name, status)
        layer = WindowsProcessLayer()
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._run(name, argv[1:], reporter, layer, loop))
        finally:
            self.loop = None
            loop.close()
            layer.close()
            reporter.close()

    async def _run(self, name: str, args: list[str], reporter: WinReporter, layer: WindowsProcessLayer,
                   loop: asyncio.AbstractEventLoop) -> None:
        try:
            values, exits = read_parameters(name)
        except OSError:
            values, exits = {}, {}
        env = dict(os.environ)
        env["SVCCTL_SERVICE_NAME"] = name
        supervisor = Supervisor(name, Settings(values, exits), layer, reporter, env, args, scratch_buffer(),
                                relay=ThreadRelay)
        self.supervisor, self.loop = supervisor, loop
        try:
            await supervisor.run()
        except BaseException:
            import traceback

            reporter.event("error", "The wrapper failed: " + traceback.format_exc())
            supervisor.kill()
            if supervisor.state is not State.STOPPED:
                reporter.status(int(State.STOPPED), 0, 1064)  # ERROR_EXCEPTION_IN_SERVICE


def main() -> int:
    """Run the wrapped service whose name the SCM gives; outside the SCM say how to debug."""
    service = WrappedService()
    dispatcher = Win32Dispatcher({TABLE_NAME: service.main})
    try:
        dispatcher.run()
    except ScmError as exc:
        if exc.winerror == 1063:  # ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: run from a console
            print("svcctl.wrapper: not started by a service control manager; "
                  "use `svcctl debug NAME` to run a wrapped program in the foreground", file=sys.stderr)
            return ERROR_FAILED_SERVICE_CONTROLLER_CONNECT & 0xFF
        raise
    return 0

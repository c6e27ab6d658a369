"""sc.exe's output formats, byte for byte (spec section 2), as pure functions of svcctl records."""

from __future__ import annotations

from ..errors import message
from ..types import Accept, ServiceType, State, Status

INDENT = " " * 8
CONTROLS_INDENT = " " * 32


def _label(text: str) -> str:
    return f"{INDENT}{text:<19}: "


def type_text(service_type: int) -> str:
    """``10  WIN32_OWN_PROCESS`` style: hex without 0x, two spaces, sc's name."""
    base = service_type & ~int(ServiceType.INTERACTIVE_PROCESS)
    names = {
        ServiceType.KERNEL_DRIVER: "KERNEL_DRIVER",
        ServiceType.FILE_SYSTEM_DRIVER: "FILE_SYSTEM_DRIVER",
        ServiceType.ADAPTER: "ADAPTER",
        ServiceType.RECOGNIZER_DRIVER: "RECOGNIZER_DRIVER",
        ServiceType.WIN32_OWN_PROCESS: "WIN32_OWN_PROCESS",
        ServiceType.WIN32_SHARE_PROCESS: "WIN32_SHARE_PROCESS",
        ServiceType.WIN32: "WIN32",
    }
    text = f"{service_type:x}  {names.get(base, '')}".rstrip()
    if service_type & ServiceType.INTERACTIVE_PROCESS:
        text += "  (interactive)"
    return text


def controls_text(accepted: int) -> str:
    stop = "STOPPABLE" if accepted & Accept.STOP else "NOT_STOPPABLE"
    pause = "PAUSABLE" if accepted & Accept.PAUSE_CONTINUE else "NOT_PAUSABLE"
    if accepted & Accept.PRESHUTDOWN:
        shutdown = "ACCEPTS_PRESHUTDOWN"
    elif accepted & Accept.SHUTDOWN:
        shutdown = "ACCEPTS_SHUTDOWN"
    else:
        shutdown = "IGNORES_SHUTDOWN"
    return f"({stop}, {pause}, {shutdown})"


def status_lines(status: Status, *, ex: bool = False) -> list[str]:
    """The TYPE..WAIT_HINT lines (plus PID/FLAGS for queryex) of one service."""
    lines = [
        _label("TYPE") + type_text(status.service_type),
        _label("STATE") + f"{int(status.state)}  {status.state.name}",
    ]
    if status.state != State.STOPPED:  # sc omits the controls line for a stopped service
        lines.append(CONTROLS_INDENT + controls_text(status.controls_accepted))
    lines += [
        _label("WIN32_EXIT_CODE") + f"{status.win32_exit_code}  (0x{status.win32_exit_code:x})",
        _label("SERVICE_EXIT_CODE") + f"{status.service_exit_code}  (0x{status.service_exit_code:x})",
        _label("CHECKPOINT") + f"0x{status.checkpoint:x}",
        _label("WAIT_HINT") + f"0x{status.wait_hint:x}",
    ]
    if ex:
        lines.append(_label("PID") + str(status.pid))
        lines.append(_label("FLAGS") + ("RUNS_IN_SYSTEM_PROCESS" if status.flags & 1 else ""))
    return lines


def query_block(name: str, status: Status, *, display_name: str | None = None, ex: bool = False) -> str:
    """``sc query NAME`` / ``sc queryex NAME``: blank line, SERVICE_NAME, the status, blank line."""
    head = ["", f"SERVICE_NAME: {name}"]
    if display_name is not None:
        head.append(f"DISPLAY_NAME: {display_name}")
    return "\n".join([*head, *status_lines(status, ex=ex), ""]) + "\n"


def failure_block(api: str, code: int) -> str:
    """``[SC] <Api> FAILED n:`` with Windows' message text, as sc prints it to stdout."""
    return f"[SC] {api} FAILED {code}:\n\n{message(code)}\n\n"

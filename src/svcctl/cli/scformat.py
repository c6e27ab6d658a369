"""sc.exe's output formats, byte for byte (spec section 2), as pure functions of svcctl records.

Two styles: ``modern`` (current Windows, spec section 2) and ``legacy`` (Windows XP/2003, the
layout of seed 000's transcripts: a tab before ``(0x…)``, no spaces between the control flags,
and the controls line printed for stopped services too). ``SVCCTL_SC_STYLE`` selects one.
"""

from __future__ import annotations

import os

from ..errors import message
from ..types import Accept, Config, EnumEntry, FailureActions, ServiceType, State, Status

INDENT = " " * 8
CONTROLS_INDENT = " " * 32


def _label(text: str) -> str:
    return f"{INDENT}{text:<19}: "


def type_text(service_type: int) -> str:
    """``10  WIN32_OWN_PROCESS`` style: hex without 0x, two spaces, sc's name."""
    base = service_type & ~int(ServiceType.INTERACTIVE_PROCESS)
    names: dict[int, str] = {
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


def legacy_style() -> bool:
    return os.environ.get("SVCCTL_SC_STYLE", "modern").lower() == "legacy"


def controls_text(accepted: int, *, legacy: bool = False) -> str:
    stop = "STOPPABLE" if accepted & Accept.STOP else "NOT_STOPPABLE"
    pause = "PAUSABLE" if accepted & Accept.PAUSE_CONTINUE else "NOT_PAUSABLE"
    if accepted & Accept.PRESHUTDOWN:
        shutdown = "ACCEPTS_PRESHUTDOWN"
    elif accepted & Accept.SHUTDOWN:
        shutdown = "ACCEPTS_SHUTDOWN"
    else:
        shutdown = "IGNORES_SHUTDOWN"
    return f"({stop},{pause},{shutdown})" if legacy else f"({stop}, {pause}, {shutdown})"


def _code_line(label: str, code: int, legacy: bool) -> str:
    if legacy:  # XP's sc printed "%d\t(0x%x)": the tab lands on the next 8-column stop
        return (_label(label) + f"{code}\t(0x{code:x})").expandtabs(8)
    return _label(label) + f"{code}  (0x{code:x})"


def status_lines(status: Status, *, ex: bool = False, legacy: bool | None = None) -> list[str]:
    """The TYPE..WAIT_HINT lines (plus PID/FLAGS for queryex) of one service."""
    legacy = legacy_style() if legacy is None else legacy
    lines = [
        _label("TYPE") + type_text(status.service_type),
        _label("STATE") + f"{int(status.state)}  {status.state.name}",
    ]
    if status.state != State.STOPPED or legacy:  # modern sc omits it for a stopped service
        lines.append(CONTROLS_INDENT + controls_text(status.controls_accepted, legacy=legacy))
    lines += [
        _code_line("WIN32_EXIT_CODE", status.win32_exit_code, legacy),
        _code_line("SERVICE_EXIT_CODE", status.service_exit_code, legacy),
        _label("CHECKPOINT") + f"0x{status.checkpoint:x}",
        _label("WAIT_HINT") + f"0x{status.wait_hint:x}",
    ]
    if ex:
        lines.append(_label("PID") + str(status.pid))
        lines.append(_label("FLAGS") + ("RUNS_IN_SYSTEM_PROCESS" if status.flags & 1 else ""))
    return lines


def query_block(
    name: str, status: Status, *, display_name: str | None = None, ex: bool = False, legacy: bool | None = None
) -> str:
    """``sc query NAME`` / ``sc queryex NAME``: blank line, SERVICE_NAME, the status, blank line."""
    head = ["", f"SERVICE_NAME: {name}"]
    if display_name is not None:
        head.append(f"DISPLAY_NAME: {display_name}")
    return "\n".join([*head, *status_lines(status, ex=ex, legacy=legacy), ""]) + "\n"


def failure_block(api: str, code: int) -> str:
    """``[SC] <Api> FAILED n:`` with Windows' message text, as sc prints it to stdout."""
    return f"[SC] {api} FAILED {code}:\n\n{message(code)}\n\n"


START_TEXT = {0: "BOOT_START", 1: "SYSTEM_START", 2: "AUTO_START", 3: "DEMAND_START", 4: "DISABLED"}
ERROR_TEXT = {0: "IGNORE", 1: "NORMAL", 2: "SEVERE", 3: "CRITICAL"}
ACTION_TEXT = {0: "NONE", 1: "RESTART", 2: "REBOOT", 3: "RUN PROCESS"}
DEPENDENCY_CONTINUATION = " " * 27 + ": "
FAILURE_INDENT = " " * 39


def config_block(name: str, cfg: Config, *, delayed: bool = False) -> str:
    """``sc qc``: the QueryServiceConfig record (spec 2.5)."""
    start = f"{int(cfg.start_type):<3} {START_TEXT.get(cfg.start_type, '')}"
    if delayed and cfg.start_type == 2:
        start += "  (DELAYED)"
    deps = list(cfg.dependencies) or [""]
    lines = [
        "[SC] QueryServiceConfig SUCCESS",
        "",
        f"SERVICE_NAME: {name}",
        _label("TYPE") + type_text(cfg.service_type),
        _label("START_TYPE") + start,
        _label("ERROR_CONTROL") + f"{int(cfg.error_control):<3} {ERROR_TEXT.get(cfg.error_control, '')}",
        _label("BINARY_PATH_NAME") + cfg.binary_path,
        _label("LOAD_ORDER_GROUP") + cfg.load_order_group,
        _label("TAG") + str(cfg.tag_id),
        _label("DISPLAY_NAME") + cfg.display_name,
        _label("DEPENDENCIES") + deps[0],
        *(DEPENDENCY_CONTINUATION + d for d in deps[1:]),
        _label("SERVICE_START_NAME") + cfg.service_start_name,
    ]
    return "\n".join(lines) + "\n"


def description_block(name: str, description: str | None) -> str:
    """``sc qdescription`` (spec 2.6, Windows layout)."""
    return f"[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: {name}\nDESCRIPTION:  {description or ''}\n"


def failure_actions_block(name: str, fa: FailureActions) -> str:
    """``sc qfailure`` (spec 2.7): labels to column 37, continuation lines at 39."""

    def label(text: str) -> str:
        return f"{INDENT}{text:<29}: "

    lines = [
        "[SC] QueryServiceConfig2 SUCCESS",
        "",
        f"SERVICE_NAME: {name}",
        label("RESET_PERIOD (in seconds)") + str(fa.reset_period),
        label("REBOOT_MESSAGE") + (fa.reboot_message or ""),
        label("COMMAND_LINE") + (fa.command or ""),
    ]
    for i, action in enumerate(fa.actions):
        text = f"{ACTION_TEXT.get(action.type, 'NONE')} -- Delay = {action.delay_ms} milliseconds."
        lines.append((label("FAILURE_ACTIONS") if i == 0 else FAILURE_INDENT) + text)
    return "\n".join(lines) + "\n"


def failure_flag_block(name: str, flag: bool) -> str:
    """``sc qfailureflag``."""
    return (
        f"[SC] QueryServiceConfig2 SUCCESS\n\nSERVICE_NAME: {name}\n"
        f"{INDENT}FAILURE_ACTIONS_ON_NONCRASH_FAILURES: {int(flag)}\n"
    )


def enum_block(entries: list[EnumEntry], *, ex: bool = False) -> str:
    """``sc query`` / ``sc queryex`` enumeration: one record per service (spec 2.3)."""
    return "".join(query_block(e.name, e.status, display_name=e.display_name, ex=ex) for e in entries)


def success(api: str) -> str:
    return f"[SC] {api} SUCCESS\n"

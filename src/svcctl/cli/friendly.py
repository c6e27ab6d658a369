"""svcctl's own verbs beside sc's: ``list``, ``status``, ``completion``; colour only on a terminal."""

from __future__ import annotations

import json
import os
import time

from ..errors import ERROR_SERVICE_NEVER_STARTED, ERROR_SERVICE_SPECIFIC_ERROR, ScmError, message
from ..mgr import Manager
from ..types import ServiceAccess, State, StateFilter, Status
from .sc import VERBS

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import TextIO

_COLOURS = {State.RUNNING: "32", State.STOPPED: "90", State.PAUSED: "33"}
FRIENDLY_VERBS = ("list", "status", "events", "serve", "demo", "completion", "install", "set", "get", "reset",
                  "dump", "rotate", "debug", "reg", "audit", "sdset")


def _colour(out: TextIO) -> bool:
    return out.isatty() and "NO_COLOR" not in os.environ


def _paint(text: str, code: str, on: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if on else text


def uptime_seconds(pid: int) -> float | None:
    """How long ``pid`` has run (Linux /proc; None elsewhere or when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            boot_uptime = float(f.read().split()[0])
        return max(0.0, boot_uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def exit_summary(status: Status) -> str:
    """Why the service last stopped, in words (the message of its exit code)."""
    if status.win32_exit_code == ERROR_SERVICE_NEVER_STARTED:
        return "never started since the service manager started (1077)"
    if status.win32_exit_code == ERROR_SERVICE_SPECIFIC_ERROR:
        return f"the service reported its own error code {status.service_exit_code} (1066)"
    if status.win32_exit_code == 0:
        return "stopped cleanly (0)"
    return f"{message(status.win32_exit_code)} ({status.win32_exit_code})"


def cmd_list(mgr: Manager, args: list[str], out: TextIO) -> int:
    entries = mgr.list_services(state=StateFilter.ALL)
    if "--names" in args:
        out.write("".join(e.name + "\n" for e in entries))
        return 0
    rows = []
    for e in entries:
        try:
            with mgr.open_service(e.name, ServiceAccess.QUERY_CONFIG) as svc:
                start = svc.config().start_type.name.replace("_START", "").lower()
                if start == "auto" and svc.delayed_auto_start():
                    start = "delayed-auto"
        except ScmError:
            start = "?"
        up = uptime_seconds(e.status.pid) if e.status.pid else None
        rows.append((e.name, e.display_name, e.status.state, start, e.status.pid, up))
    if "--json" in args:
        out.write(json.dumps([{"name": n, "display_name": d, "state": s.name, "start_type": st, "pid": p,
                               "uptime_seconds": u} for n, d, s, st, p, u in rows], indent=2) + "\n")
        return 0
    colour = _colour(out)
    head = ("NAME", "DISPLAY NAME", "STATE", "START", "PID", "UPTIME")
    table = [head] + [(n, d, s.name, st, str(p) if p else "-", _duration(u)) for n, d, s, st, p, u in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=True)]
        if i and colour:
            cells[2] = _paint(cells[2], _COLOURS.get(rows[i - 1][2], "36"), True)
        out.write("  ".join(cells).rstrip() + "\n")
    return 0


def cmd_status(mgr: Manager, args: list[str], out: TextIO) -> int:
    names = [a for a in args if not a.startswith("--")]
    if len(names) != 1:
        out.write("usage: svcctl status NAME [--json]\n")
        return 1639
    name = names[0]
    try:
        with mgr.open_service(name, ServiceAccess.QUERY_STATUS | ServiceAccess.QUERY_CONFIG) as svc:
            st, cfg, desc = svc.query(), svc.config(), svc.description()
    except ScmError as exc:
        out.write(f"svcctl: {name}: {exc.strerror} ({exc.winerror})\n")
        return exc.winerror
    events = mgr.events(service=name, since=-1, limit=5)
    up = uptime_seconds(st.pid) if st.pid else None
    if "--json" in args:
        out.write(json.dumps({
            "name": name, "display_name": cfg.display_name, "state": st.state.name, "pid": st.pid,
            "uptime_seconds": up, "start_type": cfg.start_type.name, "binary_path": cfg.binary_path,
            "description": desc, "win32_exit_code": st.win32_exit_code,
            "service_exit_code": st.service_exit_code, "last_stop": exit_summary(st),
            "events": [{"time": e[1], "id": e[2], "message": e[5]} for e in events],
        }, indent=2) + "\n")
        return 0
    colour = _colour(out)
    state = _paint(st.state.name, _COLOURS.get(st.state, "36"), colour)
    lines = [
        f"{name} ({cfg.display_name})" if cfg.display_name != name else name,
        f"  state:       {state}" + (f", pid {st.pid}, up {_duration(up)}" if st.pid else ""),
        f"  start type:  {cfg.start_type.name}",
        f"  binary:      {cfg.binary_path}",
    ]
    if desc:
        lines.append(f"  description: {desc}")
    lines.extend(_wrapped_lines(mgr, name, cfg.binary_path))
    if st.state == State.STOPPED:
        lines.append(f"  last stop:   {exit_summary(st)}")
    if events:
        lines.append("  recent events:")
        for e in events:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e[1]))
            parts = [part.rstrip() for part in str(e[5]).splitlines() if part.strip()]
            if e[2] == 7920:  # the wrapper's own report: keep its lines (the program's stderr)
                lines.append(f"    {when}  {e[2]}  {parts[0] if parts else ''}")
                lines.extend(f"{'':29}{part}" for part in parts[1:])
            else:
                lines.append(f"    {when}  {e[2]}  {' '.join(p.strip() for p in parts)}")
    out.write("\n".join(lines) + "\n")
    return 0


def _wrapped_lines(mgr: Manager, name: str, image: str) -> list[str]:
    """What a wrapped service runs, where, and where its output goes."""
    from ..cmdline import split
    from ..wrapper import is_wrapper_command

    if not is_wrapper_command(split(image)):
        return []
    from ..wrapper.settings import Settings

    try:
        params = Settings(mgr.reg_get(f"Services\\{name}\\Parameters").get("", {}))
    except ScmError:
        return []
    out = [f"  program:     {params['Application']} {params['AppParameters']}".rstrip(),
           f"  directory:   {params['AppDirectory'] or '(the program directory)'}"]
    logs = [f"{label} {params[key]}" for label, key in (("stdout", "AppStdout"), ("stderr", "AppStderr"))
            if params[key]]
    if logs:
        out.append(f"  logs:        {', '.join(logs)}")
    return out


def completion_script(shell: str) -> str:
    verbs = " ".join(sorted({*VERBS, *FRIENDLY_VERBS}))
    if shell == "zsh":
        return (f"#compdef svcctl\n_svcctl() {{\n  if (( CURRENT == 2 )); then compadd {verbs};\n"
                "  else compadd $(svcctl list --names 2>/dev/null); fi\n}\ncompdef _svcctl svcctl\n")
    return (
        "_svcctl() {\n"
        "  local cur=${COMP_WORDS[COMP_CWORD]}\n"
        f"  if [ $COMP_CWORD -eq 1 ]; then COMPREPLY=($(compgen -W \"{verbs}\" -- \"$cur\"));\n"
        "  else COMPREPLY=($(compgen -W \"$(svcctl list --names 2>/dev/null)\" -- \"$cur\")); fi\n"
        "}\ncomplete -F _svcctl svcctl\n"
    )

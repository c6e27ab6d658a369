"""The wrapper's settings: values under ``Services\\<name>\\Parameters``, named as NSSM names them.

srvany reads ``Application``, ``AppParameters`` and ``AppDirectory`` there; NSSM added the rest
(``AppEnvironmentExtra``, ``AppStdout``, ``AppRotateBytes``, ``AppExit\\<code>`` ...). Keeping
both vocabularies means a service set up by hand, by srvany's instructions or with
``nssm set`` values works unchanged. Names svcctl adds follow the same style and are marked
below. :data:`PARAMETERS` is the one table that ``svcctl set/get/reset/dump`` and the wrapper
read, so a name cannot be known to one and not the other.
"""

from __future__ import annotations

import os

from ..errors import ERROR_INVALID_PARAMETER, ScmError
from ..regvalue import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

    from ..accounts import Account

    Values = dict[str, tuple[int, Any]]

#: The user-defined control code that rotates the logs (NSSM's ``nssm rotate`` sends 128 too).
ROTATE_CONTROL = 128

EXIT_ACTIONS = ("Restart", "Ignore", "Exit", "Suicide")

#: name -> (REG_* type, default, what it does). (svcctl) marks names NSSM does not have.
PARAMETERS: dict[str, tuple[int, Any, str]] = {
    "Application": (REG_EXPAND_SZ, "", "program to run (absolute path)"),
    "AppParameters": (REG_EXPAND_SZ, "", "its arguments, one command line (shell quoting; Windows: its own)"),
    "AppDirectory": (REG_EXPAND_SZ, "", "working directory; empty: the program's own directory"),
    "AppEnvironment": (REG_MULTI_SZ, (), "K=V entries that replace the whole environment"),
    "AppEnvironmentExtra": (REG_MULTI_SZ, (), "K=V entries added to the service's environment"),
    "AppNoPythonUnbuffered": (REG_DWORD, 0, "(svcctl) 1: do not set PYTHONUNBUFFERED=1 for Python programs"),
    "AppStdout": (REG_EXPAND_SZ, "", "file for standard output; empty: discarded"),
    "AppStderr": (REG_EXPAND_SZ, "", "file for standard error; empty: discarded; same path: shared"),
    "AppTimestampLog": (REG_DWORD, 0, "1: prefix each line with an ISO 8601 timestamp"),
    "AppRotateFiles": (REG_DWORD, 0, "1: rotate the log files when the service starts"),
    "AppRotateOnline": (REG_DWORD, 1, "1: rotate while running (size, age, or the rotate control)"),
    "AppRotateSeconds": (REG_DWORD, 0, "rotate a log older than this many seconds; 0: never"),
    "AppRotateBytes": (REG_DWORD, 0, "rotate a log larger than this many bytes; 0: never"),
    "AppRotateBytesHigh": (REG_DWORD, 0, "high 32 bits of AppRotateBytes"),
    "AppRotateKeep": (REG_DWORD, 0, "(svcctl) rotated files to keep per log; 0: all"),
    "AppStopMethodSkip": (REG_DWORD, 0, "bits: 1 skip SIGINT (Ctrl+C), 2 skip SIGTERM (WM_CLOSE)"),
    "AppStopMethodConsole": (REG_DWORD, 1500, "ms to wait after SIGINT (Ctrl+C)"),
    "AppStopMethodWindow": (REG_DWORD, 1500, "ms to wait after SIGTERM (WM_CLOSE)"),
    "AppStopMethodThreads": (REG_DWORD, 1500, "ms to wait after the kill for the tree to be gone"),
    "AppThrottle": (REG_DWORD, 1500, "a run shorter than this (ms) counts as a quick failure"),
    "AppRestartDelay": (REG_DWORD, 0, "ms to wait before any restart"),
    "AppThrottleMax": (REG_DWORD, 256000, "(svcctl) longest back-off delay after quick failures, ms"),
    "AppReadyProbe": (REG_SZ, "", "(svcctl) tcp:HOST:PORT, http://URL or cmd:COMMAND; RUNNING once it passes"),
    "AppReadyTimeout": (REG_DWORD, 30000, "(svcctl) ms the ready probe may take before the start fails"),
    "AppHealthProbe": (REG_SZ, "", "(svcctl) probe run every AppHealthInterval while RUNNING"),
    "AppHealthInterval": (REG_DWORD, 10000, "(svcctl) ms between health probes"),
    "AppHealthRetries": (REG_DWORD, 3, "(svcctl) failed probes in a row that restart the program"),
}


def _check(name: str, vtype: int, data: Any) -> Any:
    if vtype == REG_DWORD and not (type(data) is int and 0 <= data < 2**32):
        raise ScmError(ERROR_INVALID_PARAMETER, f"{name} is a number (0 to 4294967295)")
    if vtype in (REG_SZ, REG_EXPAND_SZ) and not isinstance(data, str):
        raise ScmError(ERROR_INVALID_PARAMETER, f"{name} is a string")
    if vtype == REG_MULTI_SZ and not (isinstance(data, tuple) and all(isinstance(s, str) for s in data)):
        raise ScmError(ERROR_INVALID_PARAMETER, f"{name} is a list of strings")
    return data


def parse_text(name: str, text: list[str]) -> tuple[int, Any]:
    """A value as typed on a command line (``svcctl set NAME KEY VALUE...``), checked.

    List values take one argument per entry. ``AppExit`` is special-cased by the caller."""
    vtype = lookup(name)[0]
    if vtype == REG_MULTI_SZ:
        for entry in text:
            if "=" not in entry or entry.startswith("="):
                raise ScmError(ERROR_INVALID_PARAMETER, f"{name} entries are KEY=VALUE, not {entry!r}")
        return vtype, tuple(text)
    if len(text) != 1:
        raise ScmError(ERROR_INVALID_PARAMETER, f"{name} takes one value")
    if vtype == REG_DWORD:
        try:
            number = int(text[0], 0)
        except ValueError:
            raise ScmError(ERROR_INVALID_PARAMETER, f"{name} is a number, not {text[0]!r}") from None
        return vtype, _check(name, vtype, number)
    return vtype, text[0]


def exit_action(text: str) -> str:
    action = text.capitalize()
    if action not in EXIT_ACTIONS:
        raise ScmError(ERROR_INVALID_PARAMETER, f"AppExit actions are {', '.join(EXIT_ACTIONS)}, not {text!r}")
    return action


def exit_value_name(code: str) -> str:
    """``Default`` is the key's default value (""); otherwise an exit code, as NSSM names them."""
    if code.lower() == "default":
        return ""
    try:
        return str(int(code, 0) & 0xFFFFFFFF)
    except ValueError:
        raise ScmError(ERROR_INVALID_PARAMETER, f"AppExit takes Default or an exit code, not {code!r}") from None


#: lower-case name -> the table's spelling (the registry's names are case-insensitive)
_SPELLING = {name.lower(): name for name in PARAMETERS}


def lookup(name: str) -> tuple[int, Any, str]:
    return PARAMETERS[canonical(name)]


def canonical(name: str) -> str:
    """The table's spelling of a parameter name (names are case-insensitive, as in the registry)."""
    known = _SPELLING.get(name.lower())
    if known is None:
        raise ScmError(ERROR_INVALID_PARAMETER, f"unknown parameter {name!r} (svcctl set --help lists them)")
    return known


def system_environment(name: str, account: Account | None = None) -> dict[str, str]:
    """The environment a wrapped program starts from: a fixed system one, like the environment
    Windows gives every service, never the daemon's or a console's, with HOME, USER, LOGNAME
    and SHELL of ``account`` (default: this process's user). ``svcctl debug`` builds the same,
    so what fails as a service fails in the foreground too."""
    if account is not None:
        home, user, shell = account.home, account.user, account.shell
    else:
        import pwd

        try:
            entry = pwd.getpwuid(os.getuid())
            home, user, shell = entry.pw_dir, entry.pw_name, entry.pw_shell or "/bin/sh"
        except KeyError:
            home, user, shell = "/", str(os.getuid()), "/bin/sh"
    env = {
        "PATH": SYSTEM_PATH,
        "HOME": home,
        "USER": user,
        "LOGNAME": user,
        "SHELL": shell,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "SVCCTL_SERVICE_NAME": name,
    }
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


_UNSET = object()
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Settings:
    """One service's wrapper settings, defaults filled in (see :data:`PARAMETERS`)."""

    __slots__ = ("values", "exit_default", "exit_codes")

    def __init__(self, values: Values, exit_actions: Values | None = None) -> None:
        #: The values that are set and differ from their default (the rest are read from
        #: PARAMETERS: a full table per running service would cost the daemon 0.7 KiB each).
        self.values: dict[str, Any] = {}
        for key, (_, data) in values.items():
            known = _SPELLING.get(key.lower())
            if known is None:
                continue
            vtype, default, _ = PARAMETERS[known]
            if (vtype == REG_DWORD) == isinstance(data, int) and data != default:
                self.values[known] = data  # a value of the wrong kind keeps the default
        self.exit_default = "Restart"
        self.exit_codes: dict[int, str] = {}
        for name, (_, data) in (exit_actions or {}).items():
            action = str(data).capitalize()
            if action not in EXIT_ACTIONS:
                continue
            if name == "":
                self.exit_default = action
            else:
                try:
                    self.exit_codes[int(name, 0)] = action
                except ValueError:
                    continue

    def __getitem__(self, name: str) -> Any:
        data = self.values.get(name, _UNSET)
        return PARAMETERS[name][1] if data is _UNSET else data

    @property
    def rotate_bytes(self) -> int:
        return int(self["AppRotateBytes"]) | (int(self["AppRotateBytesHigh"]) << 32)

    def exit_action(self, code: int) -> str:
        return self.exit_codes.get(code, self.exit_default)

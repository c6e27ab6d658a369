"""The wrapper's verbs: install, set, get, reset, dump, rotate and debug.

``svcctl install NAME [options] -- program args`` is instsrv + srvany + regedit of seed 000 in
one step: it creates the service with the wrapper as its image and writes the program's
settings under ``Services\\NAME\\Parameters`` in the same breath (a failure removes the
service again). ``set/get/reset`` edit those values by NSSM's names, ``dump`` prints the
commands that recreate a service, ``debug`` runs the program in the foreground as the service
would run it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..errors import ERROR_INVALID_PARAMETER, ERROR_SERVICE_DOES_NOT_EXIST, ScmError
from ..mgr import Manager
from ..regvalue import REG_MULTI_SZ
from ..types import ServiceType, StartType
from ..wrapper import is_wrapper_command, settings, wrapper_image_path
from ..wrapper.supervisor import is_python
from .connect import with_manager

INSTALL_USAGE = """usage: svcctl install NAME [options] -- PROGRAM [ARGUMENTS...]

Runs any program as a service (srvany's successor). Options:
  --display TEXT          display name                 --description TEXT
  --start auto|demand|delayed-auto|disabled (default demand)
  --depend NAME           a dependency (repeatable; +GROUP for a group)
  --cwd DIR               working directory (default: the script's or program's directory)
  --env KEY=VALUE         added to the environment (repeatable)
  --stdout FILE           standard output log         --stderr FILE   standard error log
  --rotate-bytes N        rotate a log above N bytes   --rotate-seconds N   ... older than N s
  --rotate-keep N         rotated files to keep        --timestamps    prefix lines with the time
  --ready PROBE           tcp:HOST:PORT, http://HOST:PORT/PATH or cmd:COMMAND: RUNNING once it passes
  --health PROBE          restart the program when this probe keeps failing
  --exit CODE=ACTION      what an exit code does: Restart, Ignore, Exit, Suicide (CODE may be Default)
  --account NAME          who it runs as: NT SERVICE\\NAME (default as root: a virtual account of its
                          own, least privilege), LocalSystem, NT AUTHORITY\\LocalService, .\\user
Every setting can be changed later: svcctl set NAME KEY VALUE (svcctl set --help lists the keys).
"""

_START = {"auto": StartType.AUTO_START, "demand": StartType.DEMAND_START, "delayed-auto": StartType.AUTO_START,
          "disabled": StartType.DISABLED}


def _params_key(name: str) -> str:
    return f"Services\\{name}\\Parameters"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits; the CLI returns 1639 instead
        raise ScmError(1639, message)


def _install_parser() -> _Parser:
    p = _Parser(prog="svcctl install", add_help=False)
    p.add_argument("name")
    p.add_argument("--display")
    p.add_argument("--description")
    p.add_argument("--start", choices=sorted(_START), default="demand")
    p.add_argument("--depend", action="append", default=[])
    p.add_argument("--cwd")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--stdout")
    p.add_argument("--stderr")
    p.add_argument("--rotate-bytes", type=int)
    p.add_argument("--rotate-seconds", type=int)
    p.add_argument("--rotate-keep", type=int)
    p.add_argument("--timestamps", action="store_true")
    p.add_argument("--ready")
    p.add_argument("--health")
    p.add_argument("--exit", action="append", default=[])
    p.add_argument("--account")
    return p


def program_values(command: list[str], cwd: str | None, here: str) -> dict[str, tuple[int, Any]]:
    """Application, AppParameters and AppDirectory for ``command`` typed in directory ``here``.

    The program is stored with its absolute path; for ``python script.py`` the script is made
    absolute too and the working directory defaults to the script's directory (where seed
    000's webmain.py looks for its files), otherwise to the program's own directory."""
    program = command[0]
    found = os.path.join(here, program) if os.sep in program else shutil.which(program)
    if found is None or not os.path.isfile(found):
        parent = os.path.dirname(found or "")
        code = 3 if parent and not os.path.isdir(parent) else 2  # ERROR_PATH_NOT_FOUND / FILE_NOT_FOUND
        raise ScmError(code, f"{program}: no such program" + ("" if os.sep in program else " on PATH"))
    app = os.path.abspath(found)
    args = list(command[1:])
    directory = os.path.dirname(app)
    if is_python(app) and args and not args[0].startswith("-"):
        script = os.path.abspath(os.path.join(here, args[0]))
        if os.path.isfile(script):
            args[0] = script
            directory = os.path.dirname(script)
    if cwd is not None:
        directory = os.path.abspath(os.path.join(here, cwd))
    from ..cmdline import join

    return {
        "Application": (2, app),
        "AppParameters": (2, join(args)),
        "AppDirectory": (2, directory),
    }


def cmd_install(mgr: Manager, args: list[str], out: TextIO) -> int:
    if "--" not in args or args.index("--") == len(args) - 1:
        out.write(INSTALL_USAGE)
        return 1639
    split = args.index("--")
    opts = _install_parser().parse_args(args[:split])
    values = program_values(args[split + 1:], opts.cwd, os.getcwd())
    here = os.getcwd()
    if opts.env:
        values["AppEnvironmentExtra"] = settings.parse_text("AppEnvironmentExtra", opts.env)
    for key, path in (("AppStdout", opts.stdout), ("AppStderr", opts.stderr)):
        if path:
            values[key] = (2, os.path.abspath(os.path.join(here, path)))
    numbers = {"AppRotateBytes": opts.rotate_bytes, "AppRotateSeconds": opts.rotate_seconds,
               "AppRotateKeep": opts.rotate_keep, "AppTimestampLog": 1 if opts.timestamps else None}
    for key, number in numbers.items():
        if number is not None:
            values[key] = settings.parse_text(key, [str(number)])
    for key, probe in (("AppReadyProbe", opts.ready), ("AppHealthProbe", opts.health)):
        if probe:
            from ..wrapper.probes import Probe

            Probe(probe)  # refuse a malformed probe now, not at the first start
            values[key] = (1, probe)
    exits: dict[str, tuple[int, Any] | None] = {}
    for item in opts.exit:
        code, _, action = item.partition("=")
        exits[settings.exit_value_name(code)] = (1, settings.exit_action(action))
    # Least privilege by default: a root daemon runs the program as a virtual account of its own.
    # (Windows: virtual accounts need no password, so they are the default there too.)
    privileged = sys.platform == "win32" or os.geteuid() == 0
    account = opts.account or (f"NT SERVICE\\{opts.name}" if privileged else "LocalSystem")
    svc = mgr.create_service(
        opts.name, wrapper_image_path(), display_name=opts.display,
        service_type=ServiceType.WIN32_OWN_PROCESS, start_type=_START[opts.start],
        dependencies=opts.depend or None, account=account,
    )
    with svc:
        try:
            mgr.reg_set(_params_key(opts.name), dict(values), replace=True)
            if exits:
                mgr.reg_set(_params_key(opts.name) + "\\AppExit", exits, replace=True)
            if opts.description:
                svc.set_description(opts.description)
            if opts.start == "delayed-auto":
                svc.set_delayed_auto_start(True)
            try:
                svc.set_failure_actions_on_non_crash(True)  # a program that fails stops with 1066
            except ScmError as exc:
                if exc.winerror not in (50, 124):  # an SCM without the level (Wine) still runs it
                    raise
                out.write(f"  note: this SCM has no failure-actions flag ({exc.winerror}): "
                          "failure actions fire on crashes only\n")
        except BaseException:
            svc.delete()
            raise
    out.write(f"Installed {opts.name}: {values['Application'][1]} {values['AppParameters'][1]}".rstrip()
              + f"\n  working directory: {values['AppDirectory'][1]}\n  account: {account}\n")
    for warning in access_warnings(account, values):
        out.write(f"  warning: {warning}\n")
    out.write(f"Start it with: svcctl start {opts.name}\n")
    return 0


def access_warnings(account_name: str, values: dict[str, tuple[int, Any]]) -> list[str]:
    """What the account will not be able to use: said at install, not found out at start."""
    if sys.platform == "win32":
        return []  # ACLs, not permission bits: Windows says it at start (event log, exit code)
    from .. import accounts
    from ..cmdline import split

    try:
        account = accounts.resolve(account_name)
    except ScmError:
        return []
    who = f"{account_name} (uid {account.uid})"
    hint = "give it access, or choose another --account"
    out = []
    app, directory = values["Application"][1], values["AppDirectory"][1]
    if not accounts.can_use(account, os.path.realpath(app), os.X_OK):
        out.append(f"{who} may not be able to run {os.path.realpath(app)} (its permission bits): {hint}")
    if not accounts.can_use(account, directory, os.X_OK):
        out.append(f"{who} may not be able to enter {directory} (its permission bits): {hint}")
    for arg in split(values["AppParameters"][1]):
        if os.path.isabs(arg) and os.path.isfile(arg) and not accounts.can_use(account, arg, os.R_OK):
            out.append(f"{who} may not be able to read {arg} (its permission bits): {hint}")
    return out


def _require_wrapped(mgr: Manager, name: str) -> None:
    with mgr.open_service(name, 0x1) as svc:  # SERVICE_QUERY_CONFIG: 1060 for an unknown name
        image = svc.config().binary_path
    from ..cmdline import split

    if not is_wrapper_command(split(image)):
        raise ScmError(ERROR_INVALID_PARAMETER, f"{name} is not a wrapped service (its image is {image})")


def cmd_set(mgr: Manager, args: list[str], out: TextIO) -> int:
    name, key, rest = args[0], args[1], args[2:]
    _require_wrapped(mgr, name)
    if key.lower() == "appexit":
        if len(rest) != 2:
            raise ScmError(1639, "usage: svcctl set NAME AppExit CODE|Default ACTION")
        mgr.reg_set(_params_key(name) + "\\AppExit",
                    {settings.exit_value_name(rest[0]): (1, settings.exit_action(rest[1]))})
    else:
        mgr.reg_set(_params_key(name), {settings.canonical(key): settings.parse_text(key, rest)})
    out.write(f"Set {name} {key}.\n")
    return 0


def cmd_get(mgr: Manager, args: list[str], out: TextIO) -> int:
    name, key = args[0], args[1]
    _require_wrapped(mgr, name)
    tree = mgr.reg_get(_params_key(name))
    if key.lower() == "appexit":
        exits = settings.Settings({}, tree.get("AppExit", {}))
        code = args[2] if len(args) > 2 else "Default"
        value_name = settings.exit_value_name(code)
        out.write((exits.exit_default if value_name == "" else exits.exit_action(int(value_name))) + "\n")
        return 0
    canonical = settings.canonical(key)
    data = settings.Settings(tree.get("", {}))[canonical]
    out.write("".join(f"{line}\n" for line in data) if isinstance(data, tuple) else f"{data}\n")
    return 0


def cmd_reset(mgr: Manager, args: list[str], out: TextIO) -> int:
    name, key = args[0], args[1]
    _require_wrapped(mgr, name)
    if key.lower() == "appexit":
        mgr.reg_set(_params_key(name) + "\\AppExit",
                    {settings.exit_value_name(args[2] if len(args) > 2 else "Default"): None})
    else:
        mgr.reg_set(_params_key(name), {settings.canonical(key): None})
    out.write(f"Reset {name} {key} to its default.\n")
    return 0


def dump_commands(mgr: Manager, name: str) -> list[str]:
    """Shell commands that recreate ``name``: install, then a ``set`` per non-default value."""
    with mgr.open_service(name, 0x1) as svc:
        cfg, desc, delayed = svc.config(), svc.description(), svc.delayed_auto_start()
    tree = mgr.reg_get(_params_key(name))
    params = settings.Settings(tree.get("", {}), tree.get("AppExit", {}))
    q = shlex.quote
    start = {StartType.AUTO_START: "delayed-auto" if delayed else "auto", StartType.DISABLED: "disabled"}
    head = [f"svcctl install {q(name)}"]
    if cfg.display_name and cfg.display_name != name:
        head.append(f"--display {q(cfg.display_name)}")
    if desc:
        head.append(f"--description {q(desc)}")
    if cfg.start_type in start:
        head.append(f"--start {start[cfg.start_type]}")
    for dep in cfg.dependencies:
        head.append(f"--depend {q(dep)}")
    head.append(f"--cwd {q(params['AppDirectory'])}" if params["AppDirectory"] else "")
    from ..cmdline import split

    command = [params["Application"], *split(params["AppParameters"])]
    lines = [" ".join(p for p in head if p) + " -- " + " ".join(q(c) for c in command)]
    for key, (vtype, default, _) in settings.PARAMETERS.items():
        if key in ("Application", "AppParameters", "AppDirectory"):
            continue
        value = params[key]
        if value == default:
            continue
        text = " ".join(q(v) for v in value) if vtype == REG_MULTI_SZ else q(str(value))
        lines.append(f"svcctl set {q(name)} {key} {text}")
    if params.exit_default != "Restart":
        lines.append(f"svcctl set {q(name)} AppExit Default {params.exit_default}")
    for code, action in sorted(params.exit_codes.items()):
        lines.append(f"svcctl set {q(name)} AppExit {code} {action}")
    return lines


def cmd_dump(mgr: Manager, args: list[str], out: TextIO) -> int:
    _require_wrapped(mgr, args[0])
    out.write("\n".join(dump_commands(mgr, args[0])) + "\n")
    return 0


def cmd_rotate(mgr: Manager, args: list[str], out: TextIO) -> int:
    with mgr.open_service(args[0], 0x100) as svc:  # SERVICE_USER_DEFINED_CONTROL
        svc.control(settings.ROTATE_CONTROL)
    out.write(f"Rotated the logs of {args[0]}.\n")
    return 0


def cmd_debug(mgr: Manager, args: list[str], out: TextIO) -> int:
    """Run the program in the foreground exactly as the service would, output to this terminal."""
    name = args[0]
    _require_wrapped(mgr, name)
    tree = mgr.reg_get(_params_key(name))
    from ..wrapper.supervisor import Command

    cmd = Command(settings.Settings(tree.get("", {}), tree.get("AppExit", {})), settings.system_environment(name),
                  args[1:])
    extras = {k: v for k, v in cmd.env.items() if k not in os.environ or os.environ[k] != v}
    out.write(f"svcctl debug {name}: running as the service would (no console, its environment):\n"
              f"  command:   {shlex.join(cmd.argv)}\n  directory: {cmd.cwd}\n"
              f"  environment differs from this shell in: {', '.join(sorted(extras)) or 'nothing'}\n"
              "  output comes here instead of the service's log files; Ctrl+C sends SIGINT to the program.\n\n")
    out.flush()
    return _run_foreground(name, cmd.argv, cmd.cwd, cmd.env, out)


def _run_foreground(name: str, argv: list[str], cwd: str, env: dict[str, str], out: TextIO) -> int:
    import signal
    import subprocess

    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        code = 267 if not os.path.isdir(cwd) else 2 if isinstance(exc, FileNotFoundError) else 5
        out.write(f"svcctl debug: cannot start {argv[0]} in {cwd}: {exc.strerror} (error {code})\n")
        return code
    interrupts = 0
    while True:
        try:
            status = proc.wait()
            break
        except KeyboardInterrupt:
            interrupts += 1
            sig = signal.SIGINT if interrupts == 1 else signal.SIGTERM if interrupts == 2 else signal.SIGKILL
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # as the service would: nothing outlives the program
    except (ProcessLookupError, PermissionError):
        pass
    from ..wrapper.supervisor import describe_exit

    sys.stderr.flush()
    out.write(f"\nsvcctl debug {name}: the program {describe_exit(status)}.\n")
    return status if status >= 0 else 128 - status


def _set_usage() -> str:
    return ("usage: svcctl set NAME KEY VALUE...   (AppExit: svcctl set NAME AppExit CODE|Default ACTION)\n\n"
            + "keys:\n" + "".join(f"  {k:<22} {d}\n" for k, (_, _, d) in settings.PARAMETERS.items())
            + "  AppExit                what an exit code does: Restart, Ignore, Exit, Suicide\n")


#: verb -> (fewest arguments, most (None: any), usage): checked before the daemon is reached.
_ARGS: dict[str, tuple[int, int | None, Callable[[], str]]] = {
    "set": (3, None, _set_usage),
    "get": (2, None, lambda: "usage: svcctl get NAME KEY   (svcctl get NAME AppExit CODE|Default)\n"),
    "reset": (2, None, lambda: "usage: svcctl reset NAME KEY   (svcctl reset NAME AppExit CODE|Default)\n"),
    "dump": (1, 1, lambda: "usage: svcctl dump NAME\n"),
    "rotate": (1, 1, lambda: "usage: svcctl rotate NAME\n"),
    "debug": (1, None, lambda: "usage: svcctl debug NAME [ARGUMENTS...]\n"),
}
VERBS = {"install": cmd_install, "set": cmd_set, "get": cmd_get, "reset": cmd_reset, "dump": cmd_dump,
         "rotate": cmd_rotate, "debug": cmd_debug}


def run(verb: str, args: list[str], out: TextIO) -> int:
    own = args[: args.index("--")] if "--" in args else args
    helping = "--help" in own or "-h" in own
    if verb == "install":
        if helping:
            out.write(INSTALL_USAGE)
            return 0
    else:
        fewest, most, usage = _ARGS[verb]
        if helping or len(args) < fewest or (most is not None and len(args) > most):
            out.write(usage())
            return 1639
    return with_manager(out, lambda mgr: _run_verb(verb, mgr, args, out))


def _run_verb(verb: str, mgr: Manager, args: list[str], out: TextIO) -> int:
    try:
        return VERBS[verb](mgr, args, out)
    except ScmError as exc:
        if exc.winerror == 1639:
            out.write(f"svcctl {verb}: {exc.strerror}\n")
        elif exc.winerror == ERROR_SERVICE_DOES_NOT_EXIST:
            out.write(f"svcctl {verb}: {args[0] if args else ''}: {exc.strerror} (1060)\n")
        else:
            out.write(f"svcctl {verb}: {exc} ({exc.winerror})\n")
        return exc.winerror


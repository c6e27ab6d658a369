"""``svcctl``: sc.exe's verbs and syntax, plus friendly verbs. Modules load only when used."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import TextIO


USAGE = """usage: svcctl [\\\\server] <verb> [arguments]   (sc.exe's verbs and syntax)

sc verbs:   query queryex qc qdescription qfailure qfailureflag create config description
            failure failureflag delete start stop pause continue interrogate control
            getdisplayname getkeyname enumdepend sdshow      (svcctl <verb> --help)
friendly:   list [--json]            services with state, start type, pid, uptime
            status NAME [--json]     a summary, including why it last stopped
            serve [--home DIR] ...   run the portable service control manager (daemon)
            demo                     walk a native Python service through the seed's states
            events [NAME] [--since 10m] [--follow] [--json]   the SCM's event log
            completion bash|zsh      shell completion script
wrapper:    install NAME [options] -- PROGRAM [ARGS]   run any program as a service
            set|get|reset NAME KEY [VALUE]   its settings (NSSM's names)    dump NAME
            rotate NAME              rotate its logs now
            debug NAME               run it in the foreground exactly as the service would
registry:   reg export [NAME ...] FILE   .reg file (regedit 5.00) of services; reg import FILE
            sdset NAME SDDL          replace a service's DACL (sdshow shows it)
            audit [--json]           risky settings: unquoted paths, writable images, open DACLs

--json works on every query verb. State lives in $SVCCTL_HOME (default ~/.local/state/svcctl).
SVCCTL_SC_STYLE=legacy prints the Windows XP/2003 layout of seed 000's transcripts.
The exit status is the Win32 code (its low byte above 255: POSIX keeps 8 bits).
"""


def _connect(server: str | None) -> object:
    from ..mgr import Manager

    return Manager.connect(server)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    if not args or args[0] in ("-h", "--help", "help"):
        out.write(USAGE)
        return 0
    verb, rest = args[0].lower(), args[1:]
    if verb == "serve":
        _asyncio_without_openssl()
        from ..scm.daemon import main as serve

        return serve(rest)
    if verb == "demo":
        from ..demo import main as demo

        return demo(rest)
    if verb == "audit":
        from .audit import run as run_audit

        return run_audit(rest, out)
    if verb == "reg":
        from .regcli import run as run_reg

        return run_reg(rest, out)
    if verb in ("install", "set", "get", "reset", "dump", "rotate", "debug"):
        from .wrap import run as run_wrapper_verb

        return run_wrapper_verb(verb, rest, out)
    if "--help" in rest or "-h" in rest:
        from .usage import usage_for

        out.write(usage_for(verb) if verb not in ("list", "status", "events") else USAGE)
        return 0
    if verb in ("list", "status", "completion", "events"):
        from . import friendly

        if verb == "completion":
            out.write(friendly.completion_script(rest[0] if rest else "bash"))
            return 0
        from .connect import with_manager

        if verb == "events":
            from .events import cmd_events

            return with_manager(out, lambda mgr: cmd_events(mgr, rest, out))
        command = friendly.cmd_list if verb == "list" else friendly.cmd_status
        return with_manager(out, lambda mgr: command(mgr, rest, out))
    from . import sc

    return sc.run(args, out, _connect)  # type: ignore[arg-type]


def _asyncio_without_openssl() -> None:
    """The daemon speaks only over a local socket, yet importing asyncio loads OpenSSL (4 MiB
    of the daemon's ~20). Hide ``ssl`` while asyncio binds it, then unhide it for anyone else."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]


def exit_status(code: int) -> int:
    """POSIX keeps 8 bits of an exit status: Win32 codes above 255 leave their low byte, and a
    low byte of 0 becomes 255, so a failure can never read as success (1060 -> 36, 1639 -> 103)."""
    if 0 <= code < 256:
        return code
    return code % 256 or 255


def entry() -> None:
    """Console-script entry: run, flush, and leave without interpreter teardown (a CLI call's
    objects need no collecting; skipping it saves a few ms on every command)."""
    import os

    code = exit_status(main())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()

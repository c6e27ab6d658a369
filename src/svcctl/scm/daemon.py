"""``svcctl serve``: the portable SCM daemon (svcctld).

Owns one ``$SVCCTL_HOME``: an exclusive lock (one daemon per home), the database and the socket
(mode 0660, group selectable). SIGTERM/SIGINT shut it down the way Windows shuts down services:
SHUTDOWN to those that accept it, a bounded wait, then every remaining process tree is ended.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import grp
import os
import resource
import signal
import sys

from ..home import DATABASE_NAME, LOCK_NAME, resolve_home, socket_path
from ..quickexit import exit_now
from .core import Scm
from .database import CONTROL, REG_DWORD, Database
from .events import EventLog
from .hosting import HostingSpawner
from .oslayer import PosixSpawner
from .runtime import Runtime, Settings
from .server import ClientProtocol


class Options:
    """What ``svcctl serve`` was asked to do: its flags, with their defaults."""

    pipe_timeout_ms: int | None = None
    handler_timeout_ms: int = 30000
    wait_to_kill_ms: int | None = None
    socket_group: str | None = None
    ready_fd: int | None = None
    durable: bool = False
    serialize_starts: bool = False
    serialize_controls: bool = False
    reboot_command: str | None = None
    hung_start_ms: int = 80000
    delayed_start_ms: int | None = None
    no_boot: bool = False
    last_known_good: bool = False

    def __init__(self, home: str, **flags: object) -> None:
        self.home = home
        for name, value in flags.items():
            if not hasattr(Options, name):
                raise TypeError(f"no serve option {name!r}")
            setattr(self, name, value)


#: serve's options: flag -> (Options field, what its value is: str, int, or None for a switch,
#: and its --help line). Both readings below, the quick one and argparse's, come from here.
_OPTIONS: dict[str, tuple[str, type | None, str]] = {
    "--home": ("home", str, "state directory (default: $SVCCTL_HOME or ~/.local/state/svcctl)"),
    "--pipe-timeout": ("pipe_timeout_ms", int, "ServicesPipeTimeout: how long a started process has to "
                       "connect (default 30000, or Control\\ServicesPipeTimeout)"),
    "--handler-timeout": ("handler_timeout_ms", int,
                          "how long a control handler may take before the call fails with 1053"),
    "--wait-to-kill": ("wait_to_kill_ms", int, "WaitToKillServiceTimeout at shutdown (default 20000)"),
    "--socket-group": ("socket_group", str, "group allowed to connect (socket mode 0660)"),
    "--ready-fd": ("ready_fd", int, "write 'ready\\n' to FD once serving"),
    "--durable": ("durable", None, "fsync every commit (survive power loss too)"),
    "--reboot-command": ("reboot_command", str, "what a REBOOT failure action runs (e.g. 'systemctl reboot'); "
                         "unset: refused and logged"),
    "--hung-start": ("hung_start_ms", int,
                     "a START_PENDING service silent for this long plus its wait hint is hung (B52)"),
    "--delayed-start": ("delayed_start_ms", int, "delay of delayed auto-start services after boot (default "
                        "120000, or Control\\AutoStartDelay)"),
    "--no-boot": ("no_boot", None, "start no services when the daemon starts"),
    "--last-known-good": ("last_known_good", None, "start with the configuration that last booted cleanly "
                          "(the current one is kept under Failed\\Services)"),
    "--serialize-starts": ("serialize_starts", None,
                           "hold Windows' global start lock until each service runs (B51)"),
    "--serialize-controls": ("serialize_controls", None, "one control handler at a time in the whole SCM, as "
                             "Windows (B69); default: one at a time per service process"),
}
#: argparse's placeholder for a value, by what the value is
_METAVARS = {"--pipe-timeout": "MS", "--handler-timeout": "MS", "--wait-to-kill": "MS", "--ready-fd": "FD",
             "--reboot-command": "CMD", "--hung-start": "MS", "--delayed-start": "MS"}


def parse_args(argv: list[str]) -> Options:
    """The options of ``svcctl serve``. A plain command line is read here; --help, mistakes and
    argparse's liberties (abbreviations...) go to argparse, which answers them as it always did.
    argparse is not imported otherwise: with shutil, lzma and bz2, which its help formatter
    pulls in, it would stay in the daemon's memory for good (0.9 MiB of VmRSS)."""
    found: dict[str, object] = {}
    args = iter(argv)
    for arg in args:
        flag, eq, text = arg.partition("=")
        spec = _OPTIONS.get(flag)
        if spec is None:
            return _parse_args_verbosely(argv)
        name, kind, _ = spec
        if kind is None:
            if eq:
                return _parse_args_verbosely(argv)
            found[name] = True
            continue
        if not eq:
            text = next(args, "")
            if not text or (text.startswith("-") and kind is str):
                return _parse_args_verbosely(argv)
        try:
            found[name] = kind(text)
        except ValueError:
            return _parse_args_verbosely(argv)
    home = found.pop("home", None)
    return Options(resolve_home(home if isinstance(home, str) else None), **found)


def _parse_args_verbosely(argv: list[str]) -> Options:
    import argparse

    p = argparse.ArgumentParser(prog="svcctl serve", description="Run the portable service control manager.",
                                argument_default=argparse.SUPPRESS)  # an absent flag keeps Options' default
    for flag, (name, kind, text) in _OPTIONS.items():
        if kind is None:
            p.add_argument(flag, dest=name, action="store_true", help=text)
        else:
            p.add_argument(flag, dest=name, type=kind, metavar=_METAVARS.get(flag), help=text)
    found = vars(p.parse_args(argv))
    return Options(resolve_home(found.pop("home", None)), **found)


def _control_dword(db: Database, name: str, default: int) -> int:
    value = db.read_key(CONTROL).get(name)
    return int(value[1]) if value and value[0] == REG_DWORD and isinstance(value[1], int) else default


async def serve(opts: Options, keep: list[object] | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then shut down (B132-B137). What serve built is handed to
    ``keep`` at the end, when the caller is about to leave without interpreter teardown."""
    home = opts.home
    os.umask(0o077)  # the database, event log and lock are the daemon's alone
    os.makedirs(home, mode=0o700, exist_ok=True)
    lock = open(os.path.join(home, LOCK_NAME), "a+")  # noqa: SIM115 - held (and locked) for the daemon's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"svcctl serve: another daemon already serves {home}", file=sys.stderr)
        return 1
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()

    loop = asyncio.get_running_loop()
    db = Database(os.path.join(home, DATABASE_NAME), durable=opts.durable)
    settings = Settings(
        pipe_timeout_ms=opts.pipe_timeout_ms or _control_dword(db, "ServicesPipeTimeout", 30000),
        handler_timeout_ms=opts.handler_timeout_ms,
        serialize_starts=opts.serialize_starts,
        serialize_controls=opts.serialize_controls,
        reboot_command=opts.reboot_command,
        hung_start_ms=opts.hung_start_ms,
        delayed_start_ms=opts.delayed_start_ms or _control_dword(db, "AutoStartDelay", 120000),
        collect_after_exit_s=0.25,
    )
    wait_to_kill = opts.wait_to_kill_ms or _control_dword(db, "WaitToKillServiceTimeout", 20000)
    events = EventLog(db, loop.call_soon)
    spawner = HostingSpawner(PosixSpawner(), db)
    scm = Scm(db, events, Runtime(spawner, events, settings))
    _raise_open_file_limit()  # each wrapped program holds a few pipes and a pidfd here

    path = socket_path(home)
    if os.path.lexists(path):
        os.unlink(path)
    old_umask = os.umask(0o117)  # the socket is born 0660: never world-writable
    try:
        server = await loop.create_unix_server(lambda: ClientProtocol(scm, os.getuid()), path=path)
    finally:
        os.umask(old_umask)
    if opts.socket_group:
        # Members may reach the socket (traverse the home, connect) but read nothing else.
        gid = grp.getgrnam(opts.socket_group).gr_gid
        os.chown(path, -1, gid)
        os.chown(home, -1, gid)
        os.chmod(home, 0o710)

    # What is alive now (modules, classes, functions, the database) stays for the daemon's life:
    # out of every later collection, which then only walks the services' objects (9 ms -> 2 ms).
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if opts.last_known_good and not scm.use_last_known_good():
        print("svcctl serve: no last-known-good configuration yet; using the current one", file=sys.stderr)
    boot = asyncio.ensure_future(scm.boot() if not opts.no_boot else asyncio.sleep(0))  # served meanwhile
    if opts.ready_fd is not None:
        os.write(opts.ready_fd, b"ready\n")
        os.close(opts.ready_fd)
    await stop.wait()

    server.close()
    boot.cancel()
    await scm.shutdown(wait_to_kill)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    spawner.close()
    db.close()
    lock.close()
    if keep is not None:  # freeing the services' objects one by one took ~2 ms of a 200-service shutdown
        keep.append(scm)
    return 0


def _raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def main(argv: list[str]) -> int:
    # Not asyncio.run: once serve() returns, every service is stopped and reaped and the
    # database closed, and asyncio.run's cleanup (cancelling what is left, closing the loop)
    # took 5-7 ms of a 200-service shutdown. Neither it nor interpreter teardown saves anything.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kept: list[object] = []
    code = loop.run_until_complete(serve(parse_args(argv), kept))
    exit_now(code)
    return code

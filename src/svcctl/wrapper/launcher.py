"""The launcher: a 1 KiB static program that starts the wrapper's programs for the daemon.

Starting a program from Python blocks the daemon's one thread until the child has exec'd
(``os.posix_spawn`` and ``subprocess`` hold the GIL through their vfork), and a program must be
inside its cgroup before it can fork, which Python cannot ask of the kernel (no ``clone3``). The
launcher, started once, takes requests on a socket and clones each program straight into its
cgroup as the daemon's own child (``CLONE_INTO_CGROUP | CLONE_PARENT``): the daemon sends a
request and goes on, and reaps, signals and watches the program as if it had spawned it. Where
clone3 is refused, the launcher forks and the program joins its cgroup from inside before
anything else. The protocol is in launcher.S's header.

The bytes are launcher.S's machine code, assembled once with GNU as (tests/unit/test_launcher.py
re-assembles the source and compares); :func:`image` wraps them in a minimal ELF, and
:func:`executable` puts that in a sealed memfd, so nothing is written to disk and nothing can
change it. x86-64 Linux only: elsewhere the layer spawns from Python.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable

#: launcher.S's .text: code, then its strings (addressed relative to the code).
CODE = bytes.fromhex(
    "b8b4010000bf04000000beffffffff31d20f05b848000000bf03000000be02000000ba010000000f0548c70425100041"
    "004000410048c70425180041000100000048c70425200041006000410048c70425400041000000420048c70425480041"
    "000000010048c70425280041001800000048c704256000410000000000b82f000000bf03000000be00004100ba000000"
    "400f054885c00f8e52030000bd000042004801c549c7c4ffffffff49c7c5ffffffff48833c256000410018752448b901"
    "0000000100000048390c256800410075104c632425700041004c632c25740041004883f8100f82c3020000bf10004200"
    "ba00104100833c2500004200020f8440020000833c2500004200010f859d0200004d85e40f889e020000448b0c250400"
    "42004585c90f848d0200008b042508004200498d440104483d001000000f87750200004983c102e8ab0200000f826602"
    "00004989d6448b0c2508004200e8950200000f8250020000f604250c004200017408c60425e80041000131db49c7c7ff"
    "ffffff488b3c2500104100803f007444b853000000beed0100000f0585c07830b802000000488b3c2500104100be0000"
    "29000f0585c078054c63f8eb1789c3b854000000488b3c25001041000f0589d8f7d889c3803c25e8004100007543b800"
    "8000004d85ff780d480fbae8214c893c25d00041004889042580004100b8b3010000bf80004100be580000000f054885"
    "c0746c0f89f4000000c60425e800410001b838000000bf1180000031f631d24531d24531c00f054885c00f85cd000000"
    "e8e00100004d85ff783ab8010100004489ff488d3503020000ba010008000f0585c0787089c76a304889e6ba01000000"
    "b8010000000f054883f8017557eb05e8a1010000b850000000488b3c25081041000f0585c07850b8700000000f05b85f"
    "000000bf120000000f05b83b000000488b3c2510104100be101041004c89f20f05488d35f5010000ba23000000bb7f00"
    "0000eb24488d358e010000ba29000000bb7d000000eb11488d35a4010000ba2b000000bb7d000000b801000000bf0200"
    "00000f05b8e700000089df0f05890425e0004100891c25e40041004c89ffe82c010000e81c010000b801000000bf0300"
    "0000bee0004100ba080000000f05e922fdffff448b0c25040042004585c974684181f9ff0f0000735fe8990000007258"
    "e8df00000049c7c5ffffffff49c7c7ffffffff31db4531f641bc00104100498b3c244885ff7418b8540000000f054983"
    "c40885c079e8f7d889c341ffc6ebdf49c7c4ffffffff4489f0e95fffffffe891000000e9adfcffffc70425e0004100ea"
    "ffffffc70425e400410000000000e871000000b801000000bf03000000bee0004100ba080000000f05e977fcffffb8e7"
    "00000031ff0f054d85c9741a48893a4883c2084889e94829f9761831c0f2ae751249ffc975e648c702000000004883c2"
    "08f8c3f9c3b8210000004489e7be010000000f05b8210000004489efbe020000000f05c34c89e7e8030000004c89ef48"
    "85ff7807b8030000000f05c3"
) + (
    b"cgroup.procs\0"
    b"svcctl: cannot join the program's cgroup\n"
    b"svcctl: cannot enter the working directory\n"
    b"svcctl: cannot execute the program\n"
)
#: launcher.S's BSS and BSS_SIZE: zeroed memory for its buffers.
BSS, BSS_SIZE = 0x410000, 0x20000

_BASE = 0x400000  # where the code segment (the whole file) is mapped
_EHDR, _PHDR = 64, 56
_PT_LOAD, _PT_GNU_STACK = 1, 0x6474E551
_PF_X, _PF_W, _PF_R = 1, 2, 4
_SPAWN, _REMOVE = 1, 2
_REMOVED = bytes(8)  # a removal's reply: none failed
_REQUEST_BYTES = 60000  # a request's strings, within the launcher's 64 KiB buffer
_JOIN_FROM_INSIDE = 1
#: Signals Python ignores, which the programs must start with at their defaults.
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


def image() -> bytes:
    """The ELF file: header, three program headers (the code, read+execute; BSS, read+write;
    a non-executable stack), then :data:`CODE`, whose first byte is the entry point."""
    headers = _EHDR + 3 * _PHDR
    size = headers + len(CODE)
    elf = struct.pack(
        "<4sBBBB8xHHIQQQIHHHHHH",
        b"\x7fELF", 2, 1, 1, 0,  # 64-bit, little-endian, version 1, System V ABI
        2, 62, 1,  # ET_EXEC, EM_X86_64, EV_CURRENT
        _BASE + headers, _EHDR, 0,  # entry, program headers, no section headers
        0, _EHDR, _PHDR, 3, 0, 0, 0,
    )
    code = struct.pack("<IIQQQQQQ", _PT_LOAD, _PF_R | _PF_X, 0, _BASE, _BASE, size, size, 0x1000)
    bss = struct.pack("<IIQQQQQQ", _PT_LOAD, _PF_R | _PF_W, 0, BSS, BSS, 0, BSS_SIZE, 0x1000)
    stack = struct.pack("<IIQQQQQQ", _PT_GNU_STACK, _PF_R | _PF_W, 0, 0, 0, 0, 0, 16)
    return elf + code + bss + stack + CODE


def executable() -> str | None:
    """A path that runs the launcher for as long as this process lives, or None where it cannot run."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return None
    import fcntl

    try:
        fd = os.memfd_create("svcctl-launcher", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except OSError:
        return None
    try:
        os.write(fd, image())
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    except OSError:
        os.close(fd)
        return None
    return f"/proc/{os.getpid()}/fd/{fd}"


class Launcher:
    """This process's end of a running launcher: requests go out in order, replies come back in
    order. Once the launcher is gone, spawns fail with OSError and removals are handed back."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop, *, join_from_inside: bool = False,
                 removal_failed: Callable[[str], object] = lambda cgroup: None) -> None:
        """``removal_failed(cgroup)``: a :meth:`remove` did not remove it (or never will, the
        launcher being gone), so the caller may try again itself."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.pid = os.posix_spawn(path, ["svcctl-launcher"], {}, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, theirs.fileno(), 3),
            ], setsigdef=DEFAULT_SIGNALS, setsigmask=())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._loop = loop
        self._flags = _JOIN_FROM_INSIDE if join_from_inside else 0
        #: Requests waiting for their reply, oldest first: a spawn's future, a removal's cgroups.
        self._replies: collections.deque[asyncio.Future[tuple[int, int]] | list[str]] = collections.deque()
        self._removal_failed = removal_failed
        #: Cgroups to remove, sent together at the end of this loop iteration: a stop of 200
        #: services is then a few requests, not 200.
        self._removals: list[str] = []
        #: Requests the socket had no room for yet (it holds ten), oldest first.
        self._backlog: collections.deque[tuple[list[bytes], list[tuple[int, int, bytes]]]] = collections.deque()
        self._error: OSError | None = None
        loop.add_reader(ours.fileno(), self._on_replies)

    def spawn(self, cgroup: str, cwd: str, argv: list[str], env: dict[str, str], stdout: int,
              stderr: int) -> asyncio.Future[tuple[int, int]]:
        """Start ``argv`` (``argv[0]`` a path) in a new cgroup ``cgroup`` ("": none). Resolves with
        (pid, errno of making the cgroup); pid is -errno if the program was not started.
        ``stdout`` and ``stderr`` must stay open until then."""
        strings = [os.fsencode(s) for s in (cgroup, cwd, *argv)]
        strings += [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
        blob = b"\0".join(strings) + b"\0"
        if blob.count(0) != len(strings):
            raise ValueError("embedded null byte")
        future = self._loop.create_future()
        if self._error is not None:
            future.set_exception(self._error)
            return future
        self._replies.append(future)  # before the send: a failing send fails it
        header = struct.pack("<4I", _SPAWN, len(argv), len(env), self._flags)
        self._send([header, blob], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("2i", stdout, stderr))])
        return future

    def remove(self, cgroup: str) -> None:
        """Remove the (empty) cgroup ``cgroup``, after the requests before this loop iteration's end."""
        if self._error is not None:
            self._removal_failed(cgroup)
            return
        if not self._removals:
            self._loop.call_soon(self._send_removals)
        self._removals.append(cgroup)

    def _send_removals(self) -> None:
        cgroups, self._removals = self._removals, []
        if self._error is not None:
            for cgroup in cgroups:
                self._removal_failed(cgroup)
            return
        batch: list[str] = []
        paths: list[bytes] = []  # batch's, encoded and terminated
        size = 0
        for cgroup in cgroups:
            path = os.fsencode(cgroup) + b"\0"
            if batch and size + len(path) > _REQUEST_BYTES:
                self._send_removal(batch, paths)
                batch, paths, size = [], [], 0
            batch.append(cgroup)
            paths.append(path)
            size += len(path)
        self._send_removal(batch, paths)

    def _send_removal(self, batch: list[str], paths: list[bytes]) -> None:
        self._replies.append(batch)
        # Joined: one buffer each would be one iovec each, and a message takes at most 1024.
        self._send([struct.pack("<4I", _REMOVE, len(batch), 0, 0), b"".join(paths)], [])

    def _send(self, data: list[bytes], fds: list[tuple[int, int, bytes]]) -> None:
        if not self._backlog:
            try:
                self._sock.sendmsg(data, fds)
                return
            except BlockingIOError:
                self._loop.add_writer(self._sock.fileno(), self._flush)
            except OSError as exc:
                return self._fail(exc)
        self._backlog.append((data, fds))

    def _flush(self) -> None:
        backlog = self._backlog
        try:
            while backlog:
                self._sock.sendmsg(*backlog[0])
                backlog.popleft()
        except BlockingIOError:
            return
        except OSError as exc:
            return self._fail(exc)
        self._loop.remove_writer(self._sock.fileno())

    def _on_replies(self) -> None:
        try:
            while True:
                reply = self._sock.recv(8)
                if not reply:
                    return self._fail(BrokenPipeError("the launcher ended"))
                waiting = self._replies.popleft()
                if isinstance(waiting, list):
                    if reply != _REMOVED:  # some failed: which is not said, so all are handed back
                        for cgroup in waiting:
                            self._removal_failed(cgroup)
                elif not waiting.done():  # else its start was cancelled (only as a loop is torn down)
                    waiting.set_result(struct.unpack("<ii", reply))
        except BlockingIOError:
            pass
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        """The launcher is gone: every request waiting fails with ``exc``, and so do later ones."""
        self._error = exc
        self._detach()
        self._backlog.clear()
        while self._replies:
            waiting = self._replies.popleft()
            if isinstance(waiting, list):
                for cgroup in waiting:
                    self._removal_failed(cgroup)
            elif not waiting.done():
                waiting.set_exception(exc)

    def _detach(self) -> None:
        if not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())

    def close(self) -> None:
        """End the launcher (it exits at the end of its socket) and reap it; spawns still
        waiting for their reply fail."""
        if self._sock.fileno() < 0:
            return
        self._fail(BrokenPipeError("the launcher was closed"))
        self._sock.close()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

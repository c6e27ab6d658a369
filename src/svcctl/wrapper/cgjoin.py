"""cgjoin: a 400-byte static program that joins a cgroup, enters a directory and execs.

A wrapped program must be inside its cgroup before it can fork, or a quick double fork escapes
the stop. Python cannot spawn into a cgroup (no ``clone3``), a preexec hook turns vfork into a
fork (~2 ms a start here), and joining from ``/bin/sh`` costs a second dynamically linked exec
per start, more than the spawn it serves. cgjoin has no loader and no libc, so its exec is
nearly free: with it a start costs what a bare spawn costs (bench/RESULTS.md, issue 5).

The bytes are cgjoin.S's machine code, assembled once with GNU as (tests/unit/test_cgjoin.py
re-assembles the source and compares); :func:`image` wraps them in a minimal ELF, and
:func:`executable` puts that in a sealed memfd, so nothing is written to disk and nothing can
change it. x86-64 Linux only: elsewhere the layer joins through the shell.
"""

from __future__ import annotations

import os
import struct
import sys

#: cgjoin.S's .text (code, then its three messages, addressed relative to the code).
CODE = bytes.fromhex(
    "4c8b24244c8d6c24084e8d74e410b802000000498b7d08be010008000f0585c0785989c76a304889e6ba01000000"
    "b8010000000f054883f8017540b850000000498b7d100f0585c07844b85f000000bf120000000f05b83b000000"
    "498b7d18498d75184c89f20f05488d3599000000ba23000000bb7f000000eb24488d3532000000ba29000000"
    "bb7d000000eb11488d3548000000ba2b000000bb7d000000b801000000bf020000000f05b8e700000089df0f05"
) + (
    b"svcctl: cannot join the program's cgroup\n"
    b"svcctl: cannot enter the working directory\n"
    b"svcctl: cannot execute the program\n"
)

_BASE = 0x400000  # where the one PT_LOAD segment (the whole file) is mapped
_EHDR, _PHDR = 64, 56
_PT_LOAD, _PT_GNU_STACK = 1, 0x6474E551
_PF_X, _PF_W, _PF_R = 1, 2, 4


def image() -> bytes:
    """The ELF file: header, two program headers (the code, read+execute; a non-executable
    stack), then :data:`CODE`, whose first byte is the entry point."""
    headers = _EHDR + 2 * _PHDR
    size = headers + len(CODE)
    elf = struct.pack(
        "<4sBBBB8xHHIQQQIHHHHHH",
        b"\x7fELF", 2, 1, 1, 0,  # 64-bit, little-endian, version 1, System V ABI
        2, 62, 1,  # ET_EXEC, EM_X86_64, EV_CURRENT
        _BASE + headers, _EHDR, 0,  # entry, program headers, no section headers
        0, _EHDR, _PHDR, 2, 0, 0, 0,
    )
    load = struct.pack("<IIQQQQQQ", _PT_LOAD, _PF_R | _PF_X, 0, _BASE, _BASE, size, size, 0x1000)
    stack = struct.pack("<IIQQQQQQ", _PT_GNU_STACK, _PF_R | _PF_W, 0, 0, 0, 0, 0, 16)
    return elf + load + stack + CODE


def executable() -> str | None:
    """A path that runs cgjoin for as long as this process lives, or None where it cannot run."""
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return None
    import fcntl

    try:
        fd = os.memfd_create("svcctl-cgjoin", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
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

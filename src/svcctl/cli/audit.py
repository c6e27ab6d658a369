"""``svcctl audit``: the risky settings of installed services, the way an attacker would look.

* **Unquoted image paths with spaces**: ``C:\\Program Files\\My App\\svc.exe`` unquoted lets whoever
  can write ``C:\\Program.exe`` run code as the service (the classic Windows hole); the same split
  happens to ``/opt/my app/svc``.
* **Writable images**: a program file, or a directory on its path, that users other than root
  (and the file's owner, when it is root) may write.
* **Descriptors that give users control**: a DACL granting Everyone, Users, Authenticated or
  Interactive users, or a single Unix account, more than B141's read-only rights (start, stop,
  change config, delete, change the DACL ...).

Also :func:`quote_image_path`, which ``svcctl create`` uses to quote such a path when it is made.
"""

from __future__ import annotations

import json
import os
import stat
from typing import TextIO

from ..cmdline import split
from ..errors import ScmError
from ..mgr import Manager

#: What B141 gives local users: anything beyond it, given to a broad group, is control.
_READ_ONLY = 0x1 | 0x4 | 0x8 | 0x80 | 0x100 | 0x20000
_BROAD = {"S-1-1-0": "Everyone", "S-1-5-32-545": "Users", "S-1-5-11": "Authenticated Users",
          "S-1-5-4": "Interactive", "S-1-5-2": "Network"}


def unquoted_with_spaces(image: str) -> bool:
    """An image path whose program part contains a space but is not quoted."""
    text = image.strip()
    if not text or text[0] in "\"'":
        return False
    lowered = text.lower()
    end = lowered.find(".exe")
    program = text[: end + 4] if end >= 0 else (text if os.path.exists(text) else "")
    return " " in program


def quote_image_path(image: str) -> str:
    """Quote the program part of an unquoted POSIX path with spaces, when that file exists:
    ``/opt/my app/svc --flag`` becomes ``"/opt/my app/svc" --flag``. Anything else is returned as is."""
    text = image.strip()
    if not text or text[0] in "\"'" or " " not in text:
        return image
    words = text.split(" ")
    for n in range(len(words), 1, -1):
        candidate = " ".join(words[:n])
        if os.path.isfile(candidate):
            rest = " ".join(words[n:])
            return f'"{candidate}"' + (f" {rest}" if rest else "")
    return image


def writable_by_others(path: str) -> str | None:
    """The first file or directory on ``path`` that non-root users may write, or None."""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(len(parts), 0, -1):
        current = os.sep.join(parts[:i]) or os.sep
        try:
            st = os.stat(current)
        except OSError:
            continue
        if st.st_uid != 0 or (st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (
            stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX and current != path
        )):
            return current
    return None


def findings(mgr: Manager) -> list[dict[str, str]]:
    from ..secdesc import SecurityDescriptor, format_rights

    out: list[dict[str, str]] = []
    for entry in mgr.list_services():
        try:
            with mgr.open_service(entry.name, 0x20001) as svc:  # QUERY_CONFIG | READ_CONTROL
                image = svc.config().binary_path
                sddl = svc.security(0x4)
        except ScmError:
            continue
        if unquoted_with_spaces(image):
            out.append({"service": entry.name, "risk": "unquoted image path with spaces", "detail": image})
        argv = split(image)
        program = argv[1] if len(argv) > 1 and os.path.basename(argv[0]).startswith("python") else (argv or [""])[0]
        if program and os.path.isabs(program) and os.path.exists(program):
            where = writable_by_others(program)
            if where:
                out.append({"service": entry.name, "risk": "image writable by non-root users", "detail": where})
        dacl = SecurityDescriptor.from_sddl(sddl).dacl
        for ace in dacl.aces if dacl is not None else ():
            sid = str(getattr(ace, "sid", ""))
            broad = _BROAD.get(sid) or ("Unix account " + sid if sid.startswith("S-1-22-") else None)
            extra = getattr(ace, "mask", 0) & ~_READ_ONLY
            if broad and getattr(ace, "type", 1) == 0 and extra:
                out.append({"service": entry.name, "risk": f"descriptor gives {broad} control",
                            "detail": format_rights(extra)})
    return out


def run(args: list[str], out: TextIO) -> int:
    from .connect import with_manager

    return with_manager(out, lambda mgr: report(findings(mgr), "--json" in args, out))


def report(found: list[dict[str, str]], as_json: bool, out: TextIO) -> int:
    if as_json:
        out.write(json.dumps(found, indent=2) + "\n")
    elif not found:
        out.write("No risky service settings found.\n")
    else:
        width = max(len(f["service"]) for f in found)
        for f in found:
            out.write(f"{f['service']:<{width}}  {f['risk']}: {f['detail']}\n")
    return 0

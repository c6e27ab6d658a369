"""Command lines as the SCM stores them: ``%VAR%`` expansion, splitting and quoting.

ImagePath and the wrapper's AppParameters are single strings, as on Windows. They are expanded
the way REG_EXPAND_SZ is (``%NAME%`` from the environment, unknown names left as they are). On
POSIX they are split with shell quoting, so ``"/opt/my app/run" --flag`` and ``'a b'`` both work;
on Windows with CommandLineToArgvW's rules (backslashes are literal except before a quote), so
``"C:\\Program Files\\x.exe" -k`` means what it means to the real SCM.
"""

from __future__ import annotations

import os
import shlex
import sys


def expand_vars(text: str, env: dict[str, str] | None = None) -> str:
    """``%NAME%`` replaced from ``env`` (default: this process's environment)."""
    parts = text.split("%")
    if len(parts) < 3:
        return text
    source = os.environ if env is None else env
    out = [parts[0]]
    i = 1
    while i < len(parts):
        if i + 1 < len(parts) and parts[i] and parts[i] in source:
            out.append(source[parts[i]] + parts[i + 1])
            i += 2
        else:
            out.append("%" + parts[i])
            i += 1
    return "".join(out)


def split(command_line: str, env: dict[str, str] | None = None, windows: bool | None = None) -> list[str]:
    """argv of a command line: variables expanded, then the platform's quoting rules (on POSIX a
    whitespace split when the quoting is unbalanced, rather than refusing a line Windows would run)."""
    expanded = expand_vars(command_line, env)
    if sys.platform == "win32" if windows is None else windows:
        return split_windows(expanded)
    if _SPECIAL.isdisjoint(expanded) and expanded.isascii():
        return expanded.split()  # nothing quoted or escaped: what shlex would say, ten times faster
    try:
        return shlex.split(expanded)
    except ValueError:
        return expanded.split()


#: Characters that make a POSIX command line more than words between whitespace: shlex's quotes
#: and escape, and the ASCII whitespace str.split() knows but shlex does not.
_SPECIAL = frozenset("'\"\\\x0b\x0c\x1c\x1d\x1e\x1f")


def which(name: str, path: str | None = None) -> str | None:
    """The executable ``name`` on ``path`` (default: this process's PATH), as a shell finds it.
    (shutil.which would do; importing shutil costs the daemon half a MiB for this one call.)"""
    if os.sep in name:
        return name if os.access(name, os.X_OK) and not os.path.isdir(name) else None
    for directory in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def split_windows(text: str) -> list[str]:
    """CommandLineToArgvW: whitespace separates; inside quotes it does not; 2n backslashes before
    a quote are n backslashes and the quote toggles, 2n+1 are n and a literal quote; ``""`` inside
    quotes is a literal quote; other backslashes are literal."""
    args: list[str] = []
    cur: list[str] = []
    in_quotes = have = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    i = j + 1
                else:
                    i = j
                have = True
                continue
            cur.append("\\" * count)
            i, have = j, True
            continue
        if c == '"':
            if in_quotes and i + 1 < n and text[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            in_quotes, have = not in_quotes, True
        elif c in " \t" and not in_quotes:
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


def join(argv: list[str], windows: bool | None = None) -> str:
    """The command line that :func:`split` turns back into ``argv``; paths with spaces are
    double-quoted, which also closes the unquoted-path hole Windows has (B-audit)."""
    if sys.platform == "win32" if windows is None else windows:
        import subprocess

        return subprocess.list2cmdline(argv)
    out = []
    for arg in argv:
        if arg and all(c.isalnum() or c in "@%+=:,./-_" for c in arg):
            out.append(arg)
        else:
            out.append('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)

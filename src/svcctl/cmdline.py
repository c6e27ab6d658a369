"""Command lines as the portable SCM stores them: ``%VAR%`` expansion, splitting and quoting.

ImagePath and the wrapper's AppParameters are single strings, as on Windows. They are expanded
the way REG_EXPAND_SZ is (``%NAME%`` from the environment, unknown names left as they are) and
split with POSIX shell quoting, so ``"/opt/my app/run" --flag`` and ``'a b'`` both work.
"""

from __future__ import annotations

import os
import shlex


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


def split(command_line: str, env: dict[str, str] | None = None) -> list[str]:
    """argv of a command line: variables expanded, then shell-style quoting (whitespace split
    when the quoting is unbalanced, rather than refusing a line Windows would run)."""
    expanded = expand_vars(command_line, env)
    try:
        return shlex.split(expanded)
    except ValueError:
        return expanded.split()


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


def join(argv: list[str]) -> str:
    """The command line that :func:`split` turns back into ``argv``; paths with spaces are
    double-quoted, which also closes the unquoted-path hole Windows has (B-audit)."""
    out = []
    for arg in argv:
        if arg and all(c.isalnum() or c in "@%+=:,./-_" for c in arg):
            out.append(arg)
        else:
            out.append('"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(out)

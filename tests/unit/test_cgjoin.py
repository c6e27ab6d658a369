"""cgjoin, the static program that puts a wrapped program into its cgroup: its bytes are its
source's, and it does what the source says (join, chdir, umask, exec; 125/127 and a message)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from svcctl.wrapper import cgjoin

SOURCE = Path(cgjoin.__file__).with_name("cgjoin.S")
pytestmark = pytest.mark.skipif(cgjoin.executable() is None, reason="cgjoin runs on x86-64 Linux only")


@pytest.mark.skipif(not (shutil.which("as") and shutil.which("objcopy")), reason="needs GNU as and objcopy")
def test_code_is_the_assembled_source(tmp_path: Path) -> None:
    subprocess.run(["as", "-o", tmp_path / "cgjoin.o", SOURCE], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", tmp_path / "cgjoin.o", tmp_path / "cgjoin.bin"],
                   check=True)
    assert (tmp_path / "cgjoin.bin").read_bytes() == cgjoin.CODE


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = cgjoin.executable()
    assert path is not None
    return subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=10, cwd=cwd,
                          env={"ONLY": "this"})


def test_joins_enters_sets_umask_and_execs_with_the_environment_as_given(tmp_path: Path) -> None:
    procs = tmp_path / "procs"  # any writable file shows what the cgroup would be told
    procs.touch()
    os.umask(old := os.umask(0o077))
    try:
        r = run(procs, tmp_path, "/bin/sh", "-c", 'echo "$$ $(pwd) $(umask) $ONLY"; env | sort', cwd=Path("/"))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    first, *env = r.stdout.splitlines()
    assert first.split()[1:] == [str(tmp_path), "0022", "this"]
    assert procs.read_text() == "0"  # "0": the writer itself, as cgroup.procs understands it
    assert [line.split("=", 1)[0] for line in env] == ["ONLY", "PWD"]  # PWD: the shell's own


@pytest.mark.parametrize(("args", "code", "says"), [
    (("{missing}/procs", "{tmp}", "/bin/true"), 125, "cannot join the program's cgroup"),
    (("{procs}", "{missing}", "/bin/true"), 125, "cannot enter the working directory"),
    (("{procs}", "{tmp}", "{missing}"), 127, "cannot execute the program"),
    ((), 125, "cannot join the program's cgroup"),
])
def test_failures_exit_with_a_code_and_say_why(tmp_path: Path, args: tuple[str, ...], code: int, says: str) -> None:
    (tmp_path / "procs").touch()
    names = {"missing": tmp_path / "missing", "tmp": tmp_path, "procs": tmp_path / "procs"}
    r = run(*(a.format(**names) for a in args))
    assert (r.returncode, r.stderr) == (code, f"svcctl: {says}\n")


def test_the_image_cannot_be_changed_once_made() -> None:
    path = cgjoin.executable()
    assert path is not None
    with pytest.raises(PermissionError), open(path, "r+b") as f:
        f.write(b"\0")

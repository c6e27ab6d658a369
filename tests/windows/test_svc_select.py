"""select_dispatcher(): the service side's one backend choice. Runs on every system (Linux CI too).

On Linux it must never import svcctl.svc.win32 (and so ctypes.windll); on Windows it picks the
Windows dispatcher unless the portable SCM started the process or SVCCTL_DISPATCHER says otherwise.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from svcctl.errors import ScmError
from svcctl.svc.dispatcher import Dispatcher
from svcctl.svc.platform import ENV_DISPATCHER, select_dispatcher

NATIVE = "win32" if sys.platform == "win32" else "portable"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DISPATCHER, raising=False)
    monkeypatch.delenv("SVCCTL_CHANNEL", raising=False)


def test_default_is_the_platforms_dispatcher() -> None:
    cls = select_dispatcher()
    assert issubclass(cls, Dispatcher)
    assert (cls is Dispatcher) == (NATIVE == "portable")
    if NATIVE == "win32":
        assert cls.__name__ == "Win32Dispatcher" and cls.__module__ == "svcctl.svc.win32"


def test_environment_and_argument_force_a_dispatcher(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_dispatcher("portable") is Dispatcher
    monkeypatch.setenv(ENV_DISPATCHER, "portable")
    assert select_dispatcher() is Dispatcher


def test_a_process_the_portable_scm_started_speaks_its_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SVCCTL_CHANNEL", "fd:3")
    assert select_dispatcher() is Dispatcher


def test_unknown_and_unavailable_dispatchers() -> None:
    with pytest.raises(ScmError) as exc:
        select_dispatcher("nonesuch")
    assert exc.value.winerror == 87  # ERROR_INVALID_PARAMETER
    if NATIVE == "portable":
        with pytest.raises(ScmError) as exc:
            select_dispatcher("win32")
        assert exc.value.winerror == 50  # ERROR_NOT_SUPPORTED


def test_importing_the_service_side_loads_no_windows_module() -> None:
    """import svcctl.svc (and the selector) never loads win32.py; on Linux not even choosing does."""
    code = (
        "import sys, svcctl.svc, svcctl.svc.platform as p\n"
        "assert 'svcctl.svc.win32' not in sys.modules and 'svcctl.winapi.advapi32' not in sys.modules\n"
        "p.select_dispatcher()\n"
        "print(sorted(m for m in ('svcctl.svc.win32', 'svcctl.winapi.advapi32') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip()
    if NATIVE == "win32":
        assert loaded == "['svcctl.svc.win32', 'svcctl.winapi.advapi32']"
    else:
        assert loaded == "[]"

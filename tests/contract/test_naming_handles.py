"""Contract tests for spec §1.1 (naming, handles, the database) and the name checks of CreateService.

Covers B1, B2, B4, B5, B6, B9, B10, B11, B24, B25, B26 on every backend. Raw calls go through
``mgr.backend.call`` so a NULL (``None``) or a wrong handle (``0``) can be passed as in C.
"""

from __future__ import annotations

import uuid

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import (
    MAX_NAME_LENGTH,
    ScmAccess,
    ServiceAccess,
    StateFilter,
)
from tests.conftest import eventually
from tests.contract.conftest import BINPATH, unique_name, winerror

ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_INVALID_NAME = 123
ERROR_INVALID_ADDRESS = 487
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_DATABASE_DOES_NOT_EXIST = 1065
ERROR_SERVICE_MARKED_FOR_DELETE = 1072
ERROR_SERVICE_EXISTS = 1073
ERROR_DUPLICATE_SERVICE_NAME = 1078

#: Never started by these tests; Win32 image paths are stored verbatim.
def _limited(mgr: Manager, access: int) -> Manager:
    """A second manager handle on the same connection with only ``access``."""
    h = mgr.backend.call("open_scm", machine=None, database=None, access=int(access))
    return Manager(mgr.backend, h, None)


# --- B1 --------------------------------------------------------------------------------------


def test_b1_open_scm_without_access_succeeds_with_connect(mgr):
    """OpenSCManager(NULL, NULL, 0) succeeds; a manager handle always carries SC_MANAGER_CONNECT."""
    h = mgr.backend.call("open_scm", machine=None, database=None, access=0)
    assert isinstance(h, int) and h
    try:
        # CONNECT is enough for the name look-ups (B138) ...
        with pytest.raises(ScmError) as e:
            mgr.backend.call("open", scm=h, name=unique_name(), access=0)
        assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST
        with pytest.raises(ScmError) as e:
            mgr.backend.call("key_name", scm=h, name=unique_name())
        assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST
        # ... but nothing beyond CONNECT was granted.
        with pytest.raises(ScmError) as e:
            mgr.backend.call("enum", scm=h, type=0x30, state=int(StateFilter.ALL), group=None)
        assert winerror(e) == ERROR_ACCESS_DENIED
    finally:
        mgr.backend.call("close", h=h)


def test_b1_open_service_works_through_zero_access_manager(mgr, make, name):
    """OpenSCManager(NULL, NULL, 0) succeeds and its CONNECT right is enough for OpenService."""
    make(name).close()
    m0 = _limited(mgr, 0)
    try:
        with m0.open_service(name, access=ServiceAccess.QUERY_STATUS) as svc:
            assert svc.query().state
        with pytest.raises(ScmError) as e:  # CREATE_SERVICE was not granted
            m0.create_service(unique_name(), BINPATH)
        assert winerror(e) == ERROR_ACCESS_DENIED
    finally:
        m0.close()


# --- B2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database", "code"),
    [("DoesNotExist", ERROR_INVALID_NAME), ("ServicesFailed", ERROR_DATABASE_DOES_NOT_EXIST)],
)
def test_b2_open_scm_bad_database(mgr, database, code):
    """OpenSCManager(NULL, "DoesNotExist") fails 123; OpenSCManager(NULL, "ServicesFailed") fails 1065."""
    with pytest.raises(ScmError) as e:
        mgr.backend.call("open_scm", machine=None, database=database, access=int(ScmAccess.CONNECT))
    assert winerror(e) == code


@pytest.mark.parametrize(("machine", "database"), [(None, None), (None, "ServicesActive"), ("", None), ("", "")])
def test_b2_open_scm_active_database_and_local_machine(mgr, machine, database):
    """OpenSCManager with a NULL or "ServicesActive" database (or machine "") succeeds."""
    h = mgr.backend.call("open_scm", machine=machine, database=database, access=int(ScmAccess.CONNECT))
    assert isinstance(h, int) and h
    mgr.backend.call("close", h=h)


# --- B4 --------------------------------------------------------------------------------------


def test_b4_names_are_case_preserving_and_case_insensitive(mgr, make):
    """Service names are case-preserving but compared case-insensitively."""
    mixed = "MiXeD" + uuid.uuid4().hex[:10]
    make(mixed).close()
    with mgr.open_service(mixed.upper(), access=ServiceAccess.QUERY_CONFIG) as svc:
        # the display name defaults to the key name as it was written (B11): case preserved
        assert svc.config().display_name == mixed
    assert mgr.display_name(mixed.lower()) == mixed
    listed = [e.name for e in mgr.list_services() if e.name.casefold() == mixed.casefold()]
    assert listed == [mixed]
    with pytest.raises(ScmError) as e:
        mgr.create_service(mixed.lower(), BINPATH)
    assert winerror(e) == ERROR_SERVICE_EXISTS


def test_b4_display_names_are_compared_case_insensitively(mgr, make, name):
    """Display names are case-preserving but compared case-insensitively."""
    display = "Display " + name + " MiXeD"
    make(name, display_name=display).close()
    assert mgr.display_name(name) == display
    assert mgr.key_name(display.upper()) == name
    assert mgr.key_name(display.lower()) == name


def test_b4_spaces_are_accepted_in_service_names(mgr, make):
    """Spaces are valid in service names (sc create ".NET Joke Service" succeeds on Windows)."""
    spaced = ".NET Joke " + uuid.uuid4().hex[:8]
    make(spaced).close()
    with mgr.open_service(spaced, access=ServiceAccess.QUERY_STATUS) as svc:
        assert svc.query().state


@pytest.mark.parametrize("pattern", ["{}/x", "{}\\x", "/{}", "{}\\"])
def test_b4_slash_and_backslash_are_invalid_in_service_names(mgr, make, name, pattern):
    """'/' and '\\' are invalid in service names (ERROR_INVALID_NAME)."""
    with pytest.raises(ScmError) as e:
        make(pattern.format(name))
    assert winerror(e) == ERROR_INVALID_NAME


def test_b4_service_name_max_256_characters(mgr, make):
    """Service names may be up to 256 characters; longer ones are invalid (ERROR_INVALID_NAME)."""
    assert MAX_NAME_LENGTH == 256
    longest = unique_name("L").ljust(256, "x")
    make(longest).close()
    with mgr.open_service(longest, access=ServiceAccess.QUERY_STATUS) as svc:
        assert svc.query().state
    with pytest.raises(ScmError) as e:
        make(unique_name("L").ljust(257, "x"))
    assert winerror(e) == ERROR_INVALID_NAME


def test_b4_display_name_max_256_characters(mgr, make, name):
    """Display names may be up to 256 characters; a longer one is refused."""
    display = ("D" + name).ljust(256, "d")
    make(name, display_name=display).close()
    assert mgr.display_name(name) == display
    with pytest.raises(ScmError):
        make(unique_name(), display_name=display + "d")


# --- B5 / B6 ----------------------------------------------------------------------------------


def test_b5_open_service_null_manager_handle(mgr):
    """OpenService(NULL, NULL, 0) fails with ERROR_INVALID_HANDLE (6)."""
    with pytest.raises(ScmError) as e:
        mgr.backend.call("open", scm=0, name=None, access=0)
    assert winerror(e) == ERROR_INVALID_HANDLE


def test_b5_open_service_with_service_handle_as_manager(mgr, make, name):
    """OpenService on a handle that is not a manager handle fails with ERROR_INVALID_HANDLE (6)."""
    with make(name) as svc, pytest.raises(ScmError) as e:
        mgr.backend.call("open", scm=svc.handle, name=name, access=0)
    assert winerror(e) == ERROR_INVALID_HANDLE


def test_b5_open_service_null_name(mgr):
    """OpenService(hScm, NULL, ...) fails with ERROR_INVALID_ADDRESS (487)."""
    with pytest.raises(ScmError) as e:
        mgr.backend.call("open", scm=mgr.handle, name=None, access=0)
    assert winerror(e) == ERROR_INVALID_ADDRESS


def test_b5_open_service_unknown_name(mgr):
    """OpenService with an unknown name fails with ERROR_SERVICE_DOES_NOT_EXIST (1060)."""
    with pytest.raises(ScmError) as e:
        mgr.open_service(unique_name("nosuch"), access=ServiceAccess.QUERY_STATUS)
    assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST


def test_b6_open_service_by_display_name_is_1060(mgr, make, name):
    """OpenService with a service's display name (not its key name) fails with 1060."""
    display = "Display of " + name
    make(name, display_name=display).close()
    with pytest.raises(ScmError) as e:
        mgr.open_service(display, access=ServiceAccess.QUERY_STATUS)
    assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST
    assert mgr.key_name(display) == name  # the display name does exist; only key names open


# --- B9 / B10 ---------------------------------------------------------------------------------


def test_b9_close_null_handle(mgr):
    """CloseServiceHandle(NULL) fails with ERROR_INVALID_HANDLE (6)."""
    with pytest.raises(ScmError) as e:
        mgr.backend.call("close", h=0)
    assert winerror(e) == ERROR_INVALID_HANDLE


@pytest.mark.parametrize("op", ["status", "config", "delete", "close"])
def test_b9_calls_on_closed_service_handle(mgr, make, name, op):
    """Any call on a closed service handle fails with ERROR_INVALID_HANDLE (6)."""
    svc = make(name)
    h = svc.handle
    svc.close()
    with pytest.raises(ScmError) as e:
        mgr.backend.call(op, h=h)
    assert winerror(e) == ERROR_INVALID_HANDLE


def test_b9_closed_service_handle_via_api_object(mgr, make, name):
    """Any call on a closed service handle fails with ERROR_INVALID_HANDLE (6)."""
    svc = make(name)
    svc.close()
    with pytest.raises(ScmError) as e:
        svc.query()
    assert winerror(e) == ERROR_INVALID_HANDLE


def test_b9_closed_manager_handle(mgr, name):
    """A closed manager handle is invalid: OpenService and CloseServiceHandle on it fail with 6."""
    h = mgr.backend.call("open_scm", machine=None, database=None, access=int(ScmAccess.CONNECT))
    mgr.backend.call("close", h=h)
    with pytest.raises(ScmError) as e:
        mgr.backend.call("open", scm=h, name=name, access=0)
    assert winerror(e) == ERROR_INVALID_HANDLE
    with pytest.raises(ScmError) as e:
        mgr.backend.call("close", h=h)
    assert winerror(e) == ERROR_INVALID_HANDLE


def test_b9_handles_are_per_process(mgr, connect, make, name):
    """Handles are per-process: another process's handle value is invalid here (6)."""
    svc = make(name)
    other = connect()
    for op in ("status", "config", "close"):
        with pytest.raises(ScmError) as e:
            other.backend.call(op, h=svc.handle)
        assert winerror(e) == ERROR_INVALID_HANDLE, op
    with pytest.raises(ScmError) as e:
        other.backend.call("open", scm=mgr.handle, name=name, access=0)
    assert winerror(e) == ERROR_INVALID_HANDLE
    assert svc.query().state  # the owner's handle is untouched
    svc.close()


def test_b10_closing_manager_keeps_service_handles(mgr, connect, name):
    """Closing the manager handle does not invalidate service handles opened through it."""
    m = connect()
    created = m.create_service(name, BINPATH)
    opened = m.open_service(name, access=ServiceAccess.ALL_ACCESS)
    m.close()
    try:
        for svc in (created, opened):
            assert svc.query().state
            assert svc.config().binary_path == BINPATH
        opened.delete()
    finally:
        created.close()
        opened.close()
    with pytest.raises(ScmError) as e:
        mgr.open_service(name, access=ServiceAccess.QUERY_STATUS)
    assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST  # deleted + all handles closed (B94)


# --- B11 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("display", [None, ""])
def test_b11_missing_display_name_is_the_service_name(mgr, make, name, display):
    """GetServiceDisplayName for a service created with a NULL or "" display name returns the service name."""
    with make(name, display_name=display) as svc:
        assert svc.config().display_name == name  # QueryServiceConfig.lpDisplayName too
    assert mgr.display_name(name) == name
    assert mgr.key_name(name) == name


# --- B24 --------------------------------------------------------------------------------------


def test_b24_exists_1073(mgr, make, name):
    """CreateService with a name that already exists fails with ERROR_SERVICE_EXISTS (1073)."""
    make(name).close()
    other = unique_name()
    make(other).close()
    for n in (name, name.upper()):
        with pytest.raises(ScmError) as e:
            mgr.create_service(n, BINPATH)
        assert winerror(e) == ERROR_SERVICE_EXISTS
    # existence is checked before the display name (B17): 1073, not 1078
    with pytest.raises(ScmError) as e:
        mgr.create_service(name, BINPATH, display_name=other)
    assert winerror(e) == ERROR_SERVICE_EXISTS


def test_b24_marked_for_delete_1072(mgr, make, name):
    """CreateService with the name of a service marked for deletion fails with 1072."""
    svc = make(name)
    svc.delete()  # still open: marked for delete, not gone (B94)
    try:
        for n in (name, name.upper()):
            with pytest.raises(ScmError) as e:
                mgr.create_service(n, BINPATH)
            assert winerror(e) == ERROR_SERVICE_MARKED_FOR_DELETE
    finally:
        svc.close()

    # once the last handle is closed the name is free again
    def recreate() -> Service | None:
        try:
            return make(name)
        except ScmError as exc:
            assert exc.winerror == ERROR_SERVICE_MARKED_FOR_DELETE
            return None

    eventually(recreate, what="re-create after the last handle closed").close()


# --- B25 / B26 --------------------------------------------------------------------------------


def test_b25_display_name_equal_to_other_key_name_1078(mgr, make, name):
    """CreateService whose display name equals an existing service's key name fails with 1078."""
    make(name).close()
    other = unique_name()
    for display in (name, name.upper()):
        with pytest.raises(ScmError) as e:
            make(other, display_name=display)
        assert winerror(e) == ERROR_DUPLICATE_SERVICE_NAME
    with pytest.raises(ScmError) as e:
        mgr.open_service(other, access=ServiceAccess.QUERY_STATUS)
    assert winerror(e) == ERROR_SERVICE_DOES_NOT_EXIST  # nothing was created


def test_b25_display_name_equal_to_own_key_name_is_fine(mgr, make, name):
    """A service's display name may equal its own key name (only another service's key name is 1078)."""
    with make(name, display_name=name) as svc:
        assert svc.config().display_name == name


def test_b26_duplicate_display_name_accepted_key_name_returns_older(mgr, make):
    """Win10 1709+ accepts a display name equal to another's; GetServiceKeyName then returns the older service."""
    # name the older one so it sorts *after* the newer one: creation order, not name order, decides
    older, newer = unique_name("z"), unique_name("a")
    display = "Shared display " + uuid.uuid4().hex[:8]
    make(older, display_name=display).close()
    with make(newer, display_name=display.upper()) as svc:
        assert svc.config().display_name == display.upper()
    assert mgr.display_name(newer) == display.upper()
    assert mgr.key_name(display) == older
    assert mgr.key_name(display.upper()) == older

"""Fixtures of the contract suite's svc_extra image: gates, its ImagePath, and cleanup."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import ServiceAccess, State
from tests.conftest import HostLog, retire
from tests.contract import svc_extra

ALL_GATES = ("main", "start", "pause", "continue", "stop", "crash")
#: Never started by the tests that use it; Win32 image paths are stored verbatim.
BINPATH = "/nonexistent/we_dont_care.exe"


def winerror(exc: pytest.ExceptionInfo[ScmError]) -> int:
    return exc.value.winerror


def unique_name(prefix: str = "t") -> str:
    return prefix + uuid.uuid4().hex[:12]


@pytest.fixture
def make(mgr: Manager) -> Iterator[Callable[..., Service]]:
    """Create services through ``mgr`` and stop and delete them all afterwards."""
    made: list[str] = []

    def create(svc_name: str, binpath: str = BINPATH, **kw: Any) -> Service:
        made.append(svc_name)  # before the call: a create that wrongly succeeds is cleaned too
        return mgr.create_service(svc_name, binpath, **kw)

    yield create
    for n in made:
        try:
            with mgr.open_service(n, access=ServiceAccess.ALL_ACCESS) as s:
                if s.query().state != State.STOPPED:
                    s.stop()
                    s.wait(State.STOPPED, 10)
                s.delete()
        except ScmError:
            pass


def gone(mgr: Manager, name: str) -> bool:
    """Whether ``name``'s key has been removed: OpenService fails with 1060 (any other error
    fails the test)."""
    try:
        mgr.open_service(name, access=ServiceAccess.QUERY_STATUS).close()
    except ScmError as exc:
        assert exc.winerror == 1060
        return True
    return False


@pytest.fixture
def gates(tmp_path: Path) -> svc_extra.Gates:
    return svc_extra.Gates(tmp_path / "gate")


@pytest.fixture
def extra(hostlog: HostLog, gates: svc_extra.Gates) -> Callable[..., str]:
    """ImagePath of the svc_extra image: extra("--hold", "start"), extra("--behave", "crash")."""

    def binpath(*args: str) -> str:
        return svc_extra.binpath(hostlog.path, gates.prefix, *args)

    return binpath


@pytest.fixture
def cleanup(gates: svc_extra.Gates) -> Iterator[Callable[[Service], Service]]:
    """Register services to stop (every gate opened) and delete at the end of the test."""
    services: list[Service] = []

    def add(svc: Service) -> Service:
        services.append(svc)
        return svc

    yield add
    gates.open(*ALL_GATES)
    for svc in services:
        retire(svc)


# --- the win32 backend (the Wine tier): what cannot apply, and what Wine lacks --------------------


def under_wine() -> bool:
    """True inside Windows Python running under Wine (ntdll exports wine_get_version)."""
    if sys.platform != "win32":
        return False
    import ctypes

    try:
        return hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")
    except OSError:
        return False


#: Whole modules skipped for win32 (reason); their tests check the portable SCM's own machinery.
WIN32_SKIP_MODULES: dict[str, str] = {
    "test_wrapper": "the wrapper contract checks its POSIX process layer (/proc, signals, cgroups, euid) and "
    "reads the portable SCM's event log (events_since); the wrapper's Windows layer is issue 7 item 3",
}

#: Tests using these fixtures are skipped for win32 (reason).
WIN32_SKIP_FIXTURES: dict[str, str] = {
    "machine": "reboots the SCM (the portable daemon's boot, or a MemoryScm's); Wine's services.exe boots "
    "only with a new wineserver",
}

_EVENTS = "reads the SCM's event records (events_since); Windows keeps them in the System event log, " \
    "which the win32 backend does not read (ERROR_NOT_SUPPORTED, 50)"

#: Tests that cannot apply to the win32 backend at all (the portable daemon's or the in-process
#: SCM's own machinery, POSIX-only images, the test daemon's timeouts): skipped for win32.
#: Key: the test function's name.
WIN32_SKIP: dict[str, str] = {
    "test_b51_starts_serialized_until_running": "starts its own portable daemon",
    "test_reboot_runs_the_host_command_when_configured": "starts its own portable daemon",
    "test_b121_stored_as_registry_binary": "reads the portable daemon's database file (Wine never writes "
    "FailureActions anyway: B121)",
    "test_b47_plain_program_times_out_1053": "the image is /bin/sleep and the bound is the test daemon's "
    "1.5 s pipe timeout (Windows 30 s, Wine 10 s)",
    "test_b69_hung_handler_1053": "expects the test daemon's 2 s handler timeout (Windows 30 s, Wine 10 s)",
    "test_b69_hung_handler_blocks_other_services": "expects the test daemon's 2 s handler timeout "
    "(Windows 30 s, Wine 10 s)",
    "test_b69_default_serializes_per_process_only": "the portable SCM's default (per-process serialization); "
    "Windows serializes handlers SCM-wide",
    "test_b9_handles_are_per_process": "both managers live in this one process, and Win32 handles are per "
    "process: the other connection's handle is valid here",
    "test_b111_crash_is_a_failure_clean_stop_is_not": _EVENTS,
    "test_b112_flag_makes_nonzero_stops_failures": _EVENTS,
    "test_b113_action_n_for_failure_n_then_none": _EVENTS,
    "test_b119_run_command_with_failure_count": _EVENTS,
    "test_reboot_is_refused_and_logged_unless_configured": _EVENTS,
    "test_b120_b86_crash_event_texts": _EVENTS,
    "test_event_ids_of_a_service_life": _EVENTS,
    "test_start_timeout_events_7009_7000": _EVENTS,
    "test_events_wait_returns_when_an_event_arrives": _EVENTS,
    "test_b85_stopped_with_error_logs_7023_and_closes_status_handle": _EVENTS,
}

_DEPS = "dependencies are neither stored nor enforced (QueryServiceConfigW returns none, nothing is " \
    "started, checked or refused, EnumDependentServicesW is a stub)"
_RECOVERY = "failure actions are a no-op (the set call succeeds, every query of levels 2-6 is 124) and " \
    "a crashed service stays RUNNING with its dead pid, so nothing is restarted"
_CRASH = "crash detection: a service process that dies stays RUNNING with its dead pid (no 1067)"
_SECURITY = "service security: empty DACLs, the set call does nothing; and the win32 backend has no " \
    "get_security/set_security operation yet (ERROR_INVALID_FUNCTION)"
_VALIDATION = "CreateServiceW/ChangeServiceConfigW validate less than Windows"

#: What Wine's SCM lacks (../shared/spec/wine-scm-support.md, docs/wine.md): expected failures
#: under Wine only, strictly, so that a Wine that gains the behaviour shows up as XPASS(strict).
#: Key: the test function's name, or "name[params]" (without the backend) for one parametrization.
WINE_XFAIL: dict[str, str] = {
    # dependencies (B28-B31, B33, B50, B65, B126)
    "test_b50_start_starts_dependencies_first": f"{_DEPS} (B50)",
    "test_b50_missing_or_failed_dependency": f"{_DEPS} (B50)",
    "test_b50_marked_for_delete_dependency_1075": f"{_DEPS} (B50)",
    "test_b126_group_dependency_needs_one_running_member": f"{_DEPS} (B126)",
    "test_b65_stop_with_running_dependent_1051": f"{_DEPS} (B65)",
    "test_b65_group_dependent_blocks_stop_1051": f"{_DEPS} (B65)",
    "test_b28_config_after_create": f"{_DEPS} (B28)",
    "test_b29_missing_dependencies_accepted": f"{_DEPS} (B29)",
    "test_b30_self_dependency_1059": f"{_DEPS}: no cycle check, 1059 never comes (B30)",
    "test_b30_cycle_through_existing_service_1059": f"{_DEPS}: no cycle check (B30)",
    "test_b30_cycle_through_group_1059": f"{_DEPS}: no cycle check (B30)",
    "test_b30_change_config_self_and_cycle_1059": f"{_DEPS}: no cycle check (B30)",
    "test_b31_dependencies_read_back_services_then_groups": f"{_DEPS} (B31)",
    "test_b33_change_single_fields": f"{_DEPS} (B33)",
    "test_b33_empty_group_and_dependencies_clear": f"{_DEPS} (B33)",
    # failure actions and crash detection (B86, B111-B122)
    "test_b112_flag_ignored_without_actions": f"{_RECOVERY} (B112)",
    "test_b113_last_action_repeats": f"{_RECOVERY} (B113)",
    "test_b113_count_resets_after_reset_period": f"{_RECOVERY} (B113)",
    "test_b114_delay_is_in_milliseconds": f"{_RECOVERY} (B114)",
    "test_b115_update_semantics": f"{_RECOVERY} (B115)",
    "test_b116_restart_actions_need_start_access": f"{_RECOVERY}: no SERVICE_START check either (B116)",
    "test_b117_no_failure_actions_for_drivers": f"{_RECOVERY}: drivers are not refused either (B117)",
    "test_b118_queued_restart_survives_a_manual_stop": f"{_RECOVERY} (B118)",
    "test_b118_disabling_prevents_the_queued_restart": f"{_RECOVERY} (B118)",
    "test_b122_nothing_configured": f"{_RECOVERY} (B122)",
    "test_crash_loop_leaves_the_scm_responsive": f"{_RECOVERY} (B86, B113)",
    "test_b86_crash_1067": f"{_CRASH} (B86)",
    "test_b86_svchost_crash_1067": f"{_CRASH} (B86)",
    # shared processes (B54, B55)
    "test_b54_share_process_services_share_one_process": "shared processes: each SHARE_PROCESS service gets "
    "its own process (B54)",
    "test_b55_dispatcher_returns_when_all_stopped": "shared processes: the second service of the table runs "
    "in a process of its own (B54, B55)",
    "test_b56_start_service_not_in_shared_table_1083": "shared processes: a service missing from a shared "
    "table gets its own process, the start fails 87, not 1083 (B54, B56)",
    "test_b56_start_service_not_in_fresh_shared_table_1083": "shared processes: the start fails 87, not 1083 "
    "(B54, B56)",
    # security (B139-B145)
    "test_b142_new_service_has_the_default_descriptor": f"{_SECURITY} (B142)",
    "test_b145_set_replaces_only_the_parts_named_and_maps_generic_rights": f"{_SECURITY} (B145)",
    "test_b139_write_dac_and_read_control_are_needed": f"{_SECURITY} (B139)",
    "test_malformed_descriptor_is_refused": f"{_SECURITY} (B145)",
    "test_b140_manager_descriptor": f"{_SECURITY} (B140)",
    "test_b15_registry_view_shows_every_services_security_subkey": "no Services\\<name>\\Security subkey is "
    "written (service security, B15, B142)",
    # starting and controlling
    "test_b44_marked_for_delete_1072": "StartServiceW starts a service marked for delete (B44)",
    "test_b96_marked_service_refuses_most_calls_1072": "a service marked for delete still starts (B96, B44)",
    "test_b46_binary_not_found[dir]": "a missing directory in the image path fails 2, not 3 (B46)",
    "test_b48_returns_before_running_start_pending_2000": "StartServiceW does not return while ServiceMain "
    "has reported nothing (1053 after 10 s), nor reports START_PENDING/2000 meanwhile (B48)",
    "test_b49_service_main_arguments": "empty-string start arguments are dropped (B49)",
    "test_b61_undefined_codes_87_before_handle_and_access": "ControlService checks the handle (6) before "
    "the control code (87) (B61)",
    "test_b70_nothing_sent_after_stop": "a second STOP to a service that kept RUNNING is refused 1061 and "
    "Wine terminates the process: it stays RUNNING with pid 0 (B70)",
    "test_b82_checkpoint_and_hint_zero_when_not_pending": "checkpoint and wait hint are kept as reported "
    "outside pending states (B82)",
    # creation, configuration, names (B4-B40)
    "test_b17_parameter_checks_before_existence[bad3]": f"{_VALIDATION}: 1073 before the parameter check (B17)",
    "test_b17_parameter_checks_before_existence[bad4]": f"{_VALIDATION}: 1073 before the parameter check (B17)",
    "test_b19_interactive_with_localsystem_accepted[.\\\\LocalSystem]": f"{_VALIDATION}: .\\LocalSystem with "
    "INTERACTIVE_PROCESS is refused 87 (B19)",
    "test_b19_interactive_with_localsystem_accepted[.\\\\localsystem]": f"{_VALIDATION}: .\\localsystem with "
    "INTERACTIVE_PROCESS is refused 87 (B19)",
    "test_b21_invalid_error_control_87": f"{_VALIDATION}: any error control is accepted (B21)",
    "test_b22_tag_without_group_87": "tags are not supported (B22)",
    "test_b22_tag_unique_within_group": "tags are not supported: no tag is assigned (B22)",
    "test_b34_change_tag_without_group_87": "tags are not supported (B22, B34)",
    "test_b33_no_change_leaves_everything": "tags are not supported: no tag is assigned (B22, B33)",
    "test_b27_driver_gets_no_default_account": "a driver gets LocalSystem as its account (B27)",
    "test_b34_change_invalid_values_87[bad7]": f"{_VALIDATION} (B34)",
    "test_b34_change_invalid_values_87[bad8]": f"{_VALIDATION} (B34)",
    "test_b34_change_duplicate_display_name_1078": f"{_VALIDATION}: no display-name collision check on "
    "change (B34)",
    "test_b40_delayed_auto_start": "DELAYED_AUTO_START_INFO is not supported (124) (B40)",
    "test_b40_delayed_on_non_auto_start_allowed": "DELAYED_AUTO_START_INFO is not supported (124) (B40)",
    "test_b4_names_are_case_preserving_and_case_insensitive": "no default display name: it reads back "
    "empty (B4, B11)",
    "test_b4_service_name_max_256_characters": "a name longer than 256 characters fails 31, not 123 (B4)",
    "test_b4_display_name_max_256_characters": f"{_VALIDATION}: display names longer than 256 accepted (B4)",
    "test_b11_missing_display_name_is_the_service_name": "no default display name: it reads back empty (B11)",
    "test_b25_display_name_equal_to_other_key_name_1078": "display-name vs key-name collisions are not "
    "checked (B25)",
    "test_b26_duplicate_display_name_accepted_key_name_returns_older": "a duplicate display name is refused "
    "1078 (B26)",
    # enumeration (B100-B106)
    "test_b100_enum_check_order": "EnumServicesStatusExW with an unknown group returns nothing, not 1060 (B100)",
    "test_b104_entries_have_names_and_display_names": "no default display name: entries have empty ones "
    "(B104, B11)",
    "test_b105_group_filter": "EnumServicesStatusExW's group filter differs (B105)",
    "test_b106_ascending_case_insensitive_order": "EnumServicesStatusExW does not sort by name (B106)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if sys.platform != "win32":
        return
    wine = under_wine()
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        backend = params.get("backend_name")
        if backend in ("memory", "portable"):
            item.add_marker(pytest.mark.skip(reason=f"win32: {backend} only (the portable daemon's machinery)"))
            continue
        fn = getattr(item, "originalname", item.name)
        reason = WIN32_SKIP.get(fn) or WIN32_SKIP_MODULES.get(item.module.__name__.rsplit(".", 1)[-1])
        for fixture, why in WIN32_SKIP_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                reason = reason or why
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"win32: {reason}"))
            continue
        key = item.name.replace("[win32]", "").replace("[win32-", "[")
        reason = WINE_XFAIL.get(key) or WINE_XFAIL.get(fn)
        if wine and reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"Wine: {reason}"))

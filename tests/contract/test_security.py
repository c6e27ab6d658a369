"""Security descriptors through the API (B110, B139, B142, B145), on both SCMs."""

from __future__ import annotations

import pytest

from svcctl.errors import ScmError
from svcctl.secdesc import DEFAULT_SCM_SDDL, SERVICE_SDSHOW_DEFAULT, bytes_to_sddl
from svcctl.types import ServiceAccess
from tests.contract.conftest import winerror


def test_b142_new_service_has_the_default_descriptor(make, name):
    with make(name) as svc:
        assert svc.security(0x4 | 0x8) == SERVICE_SDSHOW_DEFAULT
        assert svc.security(0x1 | 0x2) == "O:SYG:SY"


def test_b145_set_replaces_only_the_parts_named_and_maps_generic_rights(make, mgr, name):
    with make(name) as svc:
        svc.set_security("D:(A;;GA;;;BA)(A;;GR;;;IU)")
        # GENERIC_ALL / GENERIC_READ are stored mapped (B8): SERVICE_ALL_ACCESS and the read rights
        assert svc.security(0x4) == "D:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLORC;;;IU)"
        assert svc.security(0x1 | 0x2) == "O:SYG:SY"  # owner and group kept
    stored = mgr.reg_get(f"Services\\{name}\\Security")[""]["Security"]
    assert bytes_to_sddl(stored[1]).startswith("O:SYG:SYD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)")


def test_b139_write_dac_and_read_control_are_needed(make, mgr, name):
    make(name).close()
    with mgr.open_service(name, ServiceAccess.QUERY_STATUS) as svc:
        with pytest.raises(ScmError) as e:
            svc.security()
        assert winerror(e) == 5
    with mgr.open_service(name, ServiceAccess.READ_CONTROL) as svc:
        assert svc.security().startswith("D:")
        with pytest.raises(ScmError) as e:
            svc.set_security("D:(A;;GA;;;WD)")
        assert winerror(e) == 5


def test_malformed_descriptor_is_refused(make, name):
    with make(name) as svc:
        with pytest.raises(ScmError) as e:
            svc.set_security("D:(A;;NOPE;;;WD)")
        assert winerror(e) == 1336
        assert svc.security(0x4 | 0x8) == SERVICE_SDSHOW_DEFAULT


def test_b140_manager_descriptor(mgr):
    assert "O:SYG:SY" + mgr.security(0x4 | 0x8) == DEFAULT_SCM_SDDL


def test_b15_registry_view_shows_every_services_security_subkey(make, mgr, name):
    """A service with the default descriptor still has Services\\<name>\\Security, as on Windows."""
    make(name).close()
    value = mgr.reg_get(f"Services\\{name}")["Security"]["Security"]
    assert value[0] == 3 and bytes_to_sddl(value[1]) == "O:SYG:SY" + SERVICE_SDSHOW_DEFAULT
    everything = mgr.reg_get("Services")
    assert f"{name}\\Security" in everything

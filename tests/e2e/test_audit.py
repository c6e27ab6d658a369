"""``svcctl audit`` and the quoting of unquoted image paths with spaces (issue 8 item 5)."""

from __future__ import annotations

import io
import os
import stat

from svcctl.cli.audit import quote_image_path, unquoted_with_spaces
from svcctl.cli.main import main


def test_unquoted_windows_and_posix_paths_are_recognised(tmp_path):
    assert unquoted_with_spaces("C:\\Program Files\\My App\\svc.exe -k")
    assert not unquoted_with_spaces('"C:\\Program Files\\My App\\svc.exe" -k')
    assert not unquoted_with_spaces("C:\\Windows\\svc.exe -k x y")
    prog = tmp_path / "my app" / "svc"
    prog.parent.mkdir()
    prog.write_text("#!/bin/sh\n")
    assert quote_image_path(f"{prog} --flag x") == f'"{prog}" --flag x'
    assert quote_image_path("/bin/sleep 60") == "/bin/sleep 60"


def test_audit_reports_the_three_risks(daemon, monkeypatch, tmp_path, name):
    monkeypatch.setenv("SVCCTL_HOME", str(daemon.home))
    prog = tmp_path / "my app" / "svc"
    prog.parent.mkdir()
    prog.write_text("#!/bin/sh\nsleep 60\n")
    os.chmod(prog, 0o777)  # world-writable image
    out = io.StringIO()
    assert main(["create", name + "q", "binpath=", f"{prog} --flag"], out=out) == 0  # quoted on create
    with daemon.connect() as mgr:
        with mgr.open_service(name + "q") as svc:
            assert svc.config().binary_path == f'"{prog}" --flag'
        mgr.create_service(name + "u", "C:\\Program Files\\App\\svc.exe").close()
        with mgr.create_service(name + "d", "/bin/true") as svc:
            svc.set_security("D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;GA;;;BA)(A;;RPWPDC;;;BU)")
        try:
            out = io.StringIO()
            assert main(["audit"], out=out) == 0
            text = out.getvalue()
            assert f"{name}u  unquoted image path with spaces" in text.replace("  ", "  ")
            assert f"{name}q" in text and "image writable by non-root users" in text
            assert f"{name}d" in text and "descriptor gives Users control: DCRPWP" in text
            assert name + "u" not in [line.split()[0] for line in text.splitlines() if "writable" in line]
        finally:
            for suffix in "qud":
                with mgr.open_service(name + suffix) as svc:
                    svc.delete()
    assert stat.S_IMODE(os.stat(prog).st_mode) == 0o777

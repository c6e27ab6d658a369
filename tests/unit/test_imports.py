"""Importing the library stays light and platform-safe (issue 7): on Linux nothing loads the
Windows layers or touches ctypes.windll, and the library core needs nothing outside the stdlib."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
before = set(sys.modules)
import svcctl, svcctl.types, svcctl.errors, svcctl.mgr, svcctl.svc, svcctl.wrapper, svcctl.wrapper.settings
import svcctl.mgr.twapi, svcctl.svc.twapi, svcctl.registry, svcctl.secdesc, svcctl.cmdline
new = sorted(set(sys.modules) - before)
third_party = [m for m in new if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "svcctl"]
print(json.dumps({"new": new, "third_party": third_party}))
"""


def test_library_import_loads_no_windows_layer_and_no_third_party_package():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    assert got["third_party"] == []
    windows = [m for m in got["new"] if m.startswith(("svcctl.winapi", "svcctl.svc.win32", "svcctl.mgr.win32",
                                                      "svcctl.wrapper.win"))]
    assert windows == []
    assert "ctypes" not in got["new"]  # so ctypes.windll cannot have been touched

"""On Windows, importing the library pulls no third-party package (issue 7): the embeddable
Python with nothing but svcctl on its path can import every public module and the Windows layers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

if sys.platform != "win32":
    pytest.skip("Windows only: run it with tools/wine/test", allow_module_level=True)

PROBE = """
import json, sys
before = set(sys.modules)
import svcctl, svcctl.mgr, svcctl.svc, svcctl.wrapper, svcctl.mgr.twapi, svcctl.svc.twapi
import svcctl.mgr.win32_backend, svcctl.svc.win32, svcctl.wrapper.winservice, svcctl.registry, svcctl.secdesc
new = sorted(set(sys.modules) - before)
print(json.dumps([m for m in new if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "svcctl"]))
"""


def test_library_import_needs_only_the_standard_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []

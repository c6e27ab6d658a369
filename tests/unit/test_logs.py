"""The log relay's shared read buffer: memory only where output has filled it."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Measured in a fresh interpreter: this process's own allocations would blur a 256 KiB step.
PROBE = """
import mmap, os
from svcctl.wrapper.logs import CHUNK, scratch_buffer

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

before = rss()
buf = scratch_buffer()
made = rss()
r, w = os.pipe()
os.write(w, b"tail of stderr\\n")
n = os.readv(r, [buf])
print(made - before, rss() - before, n, len(buf), CHUNK, bytes(buf[:n]).decode().strip())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads VmRSS from /proc")
def test_scratch_buffer_takes_memory_only_where_reads_filled_it():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    made_kib, read_kib, n, size, chunk = map(int, out[:5])
    assert size == chunk == 256 * 1024  # the whole chunk is there to read into
    assert n == 15 and " ".join(out[5:]) == "tail of stderr"
    # A zeroed bytearray would be resident in full (256 KiB) from the start.
    assert made_kib < 64, made_kib
    assert read_kib < 64, read_kib

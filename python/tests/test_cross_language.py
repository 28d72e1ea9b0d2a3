"""One lock, three languages: Python, Swift (the test worker) and C (a program compiled here)."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import swift_prwlock
from conftest import REPO_ROOT, wait_until
from swift_prwlock import RWLock

HERE = Path(__file__).resolve().parent

HOLDER = """
import sys, time
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
lock.acquire_write()
print("held", flush=True)
time.sleep(60)
"""

READ_WAITER = """
import sys
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
print("waiting", flush=True)
with lock.reader_lock(timeout=10) as hold:
    print(f"died={str(hold.previous_writer_died).lower()}", flush=True)
    sys.stdin.readline()   # keep the read hold until the test has seen the Swift writer wait
"""


def test_sigkilled_python_writer_swift_and_python_waiters_proceed_and_are_told(lock_name, swift_worker, spawn_child):
    lock = RWLock(lock_name)
    handle = lock.handle
    assert handle == f"prwlock:named:600:{lock_name}"
    holder = spawn_child([sys.executable, "-c", HOLDER, handle])
    assert holder.line() == "held"
    # a Python reader queues first, then a Swift writer: readers queued behind the dead writer go
    # first, and the writer after them is still told (no writer has finished normally since)
    reader = spawn_child([sys.executable, "-c", READ_WAITER, handle])
    assert reader.line() == "waiting"
    assert wait_until(lambda: lock.status().waiting_readers >= 1)
    swift = spawn_child([swift_worker, "notice", handle])
    assert wait_until(lambda: lock.status().waiting_writers >= 1)
    holder.process.send_signal(signal.SIGKILL)
    assert reader.line() == "died=true"
    reader.process.stdin.write("\n")
    reader.process.stdin.flush()
    assert swift.line() == "died=true"
    assert swift.wait() == 0 and reader.wait() == 0
    assert lock.previous_writer_died is False  # the Swift writer released normally
    lock.close()


def _compile_c_hammer(tmp_path):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler (cc) to build the C hammer")
    package_dir = Path(swift_prwlock.__file__).resolve().parent
    library = package_dir / "libprwlock.so.0"
    header_dir = REPO_ROOT / "Sources" / "CPRWLock" / "include"
    output = tmp_path / "hammer"
    subprocess.run([compiler, "-O2", "-std=gnu11", f"-I{header_dir}", str(HERE / "hammer.c"), str(library),
                    f"-Wl,-rpath,{package_dir}", "-o", str(output)], check=True)
    return str(output)


PY_HAMMER = """
import mmap, os, random, sys, time
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
with open(sys.argv[2], "r+b") as f:
    record = mmap.mmap(f.fileno(), 4096)
words = memoryview(record).cast("I")
end = time.monotonic() + float(sys.argv[3])
write_percent = int(sys.argv[4])
ops = writes = torn = overlaps = 0
print("started", flush=True)
while time.monotonic() < end:
    if random.randrange(100) < write_percent:
        lock.acquire_write(30)
        if words[33] != 0 or words[32] != 0:
            overlaps += 1
        words[33] = 1            # exclusive: plain stores suffice
        value = (words[0] + 1) & 0xFFFFFFFF
        for i in range(16):
            words[i] = value
        words[33] = 0
        writes += 1
    else:
        lock.acquire_read(30)
        if words[33] != 0:
            overlaps += 1
        first = words[0]
        if any(words[i] != first for i in range(1, 16)) and not lock.previous_writer_died:
            torn += 1
    lock.release()
    ops += 1
print(f"ops={ops} writes={writes} torn={torn} overlaps={overlaps}", flush=True)
sys.exit(0 if torn == 0 and overlaps == 0 else 1)
"""


def _parse(line):
    return dict(part.split("=") for part in line.split())


def test_python_swift_and_c_hammer_one_named_lock(lock_name, swift_worker, spawn_child, tmp_path):
    c_hammer = _compile_c_hammer(tmp_path)
    record = tmp_path / "record"
    record.write_bytes(bytes(4096))
    lock = RWLock(lock_name)
    handle = lock.handle
    seconds, write_percent = "3", "20"
    hammers = {
        "python": spawn_child([sys.executable, "-c", PY_HAMMER, handle, str(record), seconds, write_percent]),
        "swift": spawn_child([swift_worker, "hammer", handle, str(record), seconds, write_percent]),
        "c": spawn_child([c_hammer, handle, str(record), seconds, write_percent]),
    }
    for child in hammers.values():
        assert child.line() == "started"
    results = {language: _parse(child.line(60)) for language, child in hammers.items()}
    codes = {language: child.wait() for language, child in hammers.items()}
    print(results)
    for language, result in results.items():
        assert int(result["torn"]) == 0, (language, result)
        assert int(result["overlaps"]) == 0, (language, result)
        assert int(result["ops"]) > 0 and int(result["writes"]) > 0, (language, result)
    assert codes == {"python": 0, "swift": 0, "c": 0}
    words = memoryview(record.read_bytes()).cast("I")
    assert len(set(words[:16])) == 1
    assert words[0] == sum(int(r["writes"]) for r in results.values())  # no write was lost
    lock.close()

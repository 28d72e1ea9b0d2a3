"""Shared fixtures: locks, unique names, the Swift test worker, and Python child processes."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import swift_prwlock

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # python/
REPO_ROOT = PACKAGE_ROOT.parent


@pytest.fixture
def lock():
    lock = swift_prwlock.RWLock()
    yield lock
    lock.close()


@pytest.fixture
def lock_name():
    name = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    yield name
    try:
        swift_prwlock.RWLock.remove(name)
    except FileNotFoundError:
        pass


def _worker_path():
    given = os.environ.get("PRWLOCK_TEST_WORKER")
    return Path(given) if given else REPO_ROOT / ".build" / "debug" / "prwlock-test-worker"


@pytest.fixture(scope="session")
def swift_worker():
    """The Swift test worker (`swift build --product prwlock-test-worker`). Missing: the test is
    skipped, unless PRWLOCK_REQUIRE_CROSS_LANGUAGE=1, which makes it fail."""
    path = _worker_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        message = (f"the Swift test worker is not at {path}: build it with `swift build --product "
                   f"prwlock-test-worker` in {REPO_ROOT}, or set PRWLOCK_TEST_WORKER")
        if os.environ.get("PRWLOCK_REQUIRE_CROSS_LANGUAGE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


class Child:
    """A process whose stdout the test reads line by line."""

    def __init__(self, argv, env=None):
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)

    def line(self, timeout=30.0):
        # readline blocks; the children here always print or exit well within the timeout
        import select
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"no line from {self.process.args} within {timeout} s")
        text = self.process.stdout.readline()
        if not text:
            raise AssertionError(f"{self.process.args} exited ({self.process.wait()}) without a line; "
                                 f"stderr: {self.process.stderr.read()}")
        return text.strip()

    def wait(self, timeout=30.0):
        return self.process.wait(timeout)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def close(self):
        self.kill()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


@pytest.fixture
def spawn_child():
    children = []

    def start(argv, env=None):
        child = Child(argv, env)
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


def python_child_argv(code):
    return [sys.executable, "-c", code]


def wait_until(condition, timeout=10.0, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False

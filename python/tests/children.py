"""Functions that run in multiprocessing children (importable by name, for spawn and forkserver)."""

import os
import time


def read_hold(lock, hold_seconds=0.05):
    """prwlock's test: take a read hold, keep it a little, release. Returns when it got it."""
    got = lock.acquire_read(timeout=30)
    at = time.monotonic()
    time.sleep(hold_seconds)
    lock.release()
    return got, at


def timed(lock, mode, timeout):
    got = (lock.acquire_read if mode == "read" else lock.acquire_write)(timeout)
    if got:
        lock.release()
    return got


def try_acquire(lock, mode):
    got = lock.try_acquire_read() if mode == "read" else lock.try_acquire_write()
    if got:
        lock.release()
    return got


def probe(lock):
    """Whether this child sees the same lock as its parent (which holds the write lock), and holds
    nothing it did not take."""
    try:
        lock.release()
        inherited = True
    except ValueError:
        inherited = False
    return lock.handle, lock.try_acquire_read(), inherited, os.getpid()


def queue_result(function, queue, *args):
    queue.put(function(*args))

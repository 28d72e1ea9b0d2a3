"""prwlock 0.4.1's own behaviours (its test suite's cases), on swift_prwlock."""

import errno
import multiprocessing
import pickle
import time

import pytest

import children
from swift_prwlock import RWLock

START_METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def test_double_release(lock):
    with pytest.raises(ValueError):
        lock.release()


def test_simple_deadlock(lock):
    # prwlock: a second acquire_write() by the same thread raises OSError (EDEADLK from pthread)
    with pytest.raises(OSError) as raised:
        lock.acquire_write()
        lock.acquire_write()
    assert raised.value.errno == errno.EDEADLK
    lock.release()


def test_serialization_round_trip(lock):
    copy = pickle.loads(pickle.dumps(lock))
    assert copy.handle == lock.handle
    assert isinstance(copy, RWLock)


def test_read_release(lock):
    assert lock.acquire_read() is True
    lock.release()


def test_write_release(lock):
    assert lock.acquire_write() is True
    lock.release()


def test_positional_timeout(lock):
    assert lock.acquire_read(.3) is True
    lock.release()
    assert lock.acquire_write(.3) is True
    lock.release()


def test_pool_children_read_while_parent_writes(lock):
    """prwlock's test_child_interaction: a Pool of 10 children each take read holds (passed by
    apply_async) while the parent holds write; they all get in, after the parent released."""
    context = multiprocessing.get_context("fork" if "fork" in START_METHODS else "spawn")
    with context.Pool(processes=10) as pool:
        lock.acquire_write()
        results = [pool.apply_async(children.read_hold, args=(lock,)) for _ in range(10)]
        time.sleep(0.5)
        released_at = time.monotonic()
        lock.release()
        outcomes = [r.get(timeout=60) for r in results]
    assert all(got for got, _ in outcomes)
    assert all(at >= released_at for _, at in outcomes), "a child read while the parent held write"


@pytest.mark.parametrize("method", START_METHODS)
def test_timeout_from_child(lock, method):
    context = multiprocessing.get_context(method)

    def in_child(mode, timeout):
        queue = context.Queue()
        process = context.Process(target=children.queue_result, args=(children.timed, queue, lock, mode, timeout))
        process.start()
        result = queue.get(timeout=60)
        process.join(60)
        return result

    lock.acquire_write()
    assert in_child("read", .3) is False
    assert in_child("write", .3) is False
    lock.release()
    assert in_child("read", .3) is True
    assert in_child("write", .3) is True


@pytest.mark.parametrize("method", START_METHODS)
def test_try_acquire_from_child(lock, method):
    context = multiprocessing.get_context(method)

    def in_child(mode):
        queue = context.Queue()
        process = context.Process(target=children.queue_result, args=(children.try_acquire, queue, lock, mode))
        process.start()
        result = queue.get(timeout=60)
        process.join(60)
        return result

    lock.acquire_write()
    assert in_child("write") is False
    assert in_child("read") is False
    lock.release()
    assert in_child("write") is True
    assert in_child("read") is True


def test_context_managers(lock):
    accessed_protected_area = False
    with lock.reader_lock(timeout=1):
        pass
    with lock.writer_lock(timeout=1):
        pass
    with pytest.raises(ValueError):
        with lock.reader_lock(timeout=.1):
            with lock.writer_lock(timeout=.1):
                accessed_protected_area = True
    assert not accessed_protected_area
    # everything was released on the way out
    assert lock.try_acquire_write()
    lock.release()


def test_context_manager_releases_on_exception(lock):
    with pytest.raises(KeyError):
        with lock.writer_lock():
            raise KeyError("inside")
    with pytest.raises(ValueError):
        lock.release()
    assert lock.try_acquire_write()
    lock.release()


def test_try_variants(lock):
    assert lock.try_acquire_read() is True
    assert lock.try_acquire_read() is True
    assert lock.try_acquire_write() is False
    lock.release()
    lock.release()
    assert lock.try_acquire_write() is True
    assert lock.try_acquire_read() is False
    lock.release()

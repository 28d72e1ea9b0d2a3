"""What swift_prwlock adds to prwlock's API: names, handles, status, the dead-writer notice,
explicit releases, EDEADLK, argument checks, pickling into every start method."""

import concurrent.futures
import errno
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading

import pytest

import children
import swift_prwlock
from conftest import python_child_argv, wait_until
from swift_prwlock import LockStatus, LockTimeoutError, RWLock


# ---- names and handles -------------------------------------------------------------------------

def test_named_lock_is_shared_by_name(lock_name):
    a = RWLock(name=lock_name)
    b = RWLock(lock_name, create=False)
    assert a.name == b.name == lock_name
    assert a.handle == b.handle == f"prwlock:named:600:{lock_name}"
    assert a.acquire_write()
    assert b.try_acquire_read() is False
    a.release()
    assert b.try_acquire_read() is True
    b.release()


def test_open_missing_and_remove(lock_name):
    with pytest.raises(FileNotFoundError):
        RWLock(lock_name, create=False)
    RWLock(lock_name).close()
    RWLock.remove(lock_name)
    with pytest.raises(FileNotFoundError):
        RWLock.remove(lock_name)
    with pytest.raises(FileNotFoundError):
        RWLock(lock_name, create=False)


def test_from_handle_opens_the_same_lock(lock):
    other = RWLock.from_handle(lock.handle)
    assert lock.name is None
    assert lock.acquire_write()
    assert other.try_acquire_write() is False
    lock.release()
    assert other.try_acquire_write() is True
    other.release()
    other.close()


def test_status(lock):
    status = lock.status()
    assert isinstance(status, LockStatus)
    assert (status.readers, status.writer_pid, status.writer_holds) == (0, None, False)
    assert status.summary == "free"
    assert status.capacity >= 1 and status.attached >= 1
    lock.acquire_read()
    lock.acquire_read()
    assert lock.status().readers == 2
    assert lock.status().summary == "read-locked ×2"
    lock.release_read()
    lock.release_read()
    lock.acquire_write()
    status = lock.status()
    assert status.writer_pid == os.getpid() and status.writer_holds
    assert status.summary == f"write-locked by pid {os.getpid()}"
    lock.release_write()


# ---- releases, EDEADLK, closing -----------------------------------------------------------------

def test_release_read_and_write_say_which_hold(lock):
    with pytest.raises(ValueError):
        lock.release_read()
    with pytest.raises(ValueError):
        lock.release_write()
    lock.acquire_read()
    with pytest.raises(ValueError):
        lock.release_write()
    lock.release_read()
    lock.acquire_write()
    with pytest.raises(ValueError):
        lock.release_read()
    lock.release_write()


@pytest.mark.parametrize("second", ["acquire_write", "acquire_read"])
@pytest.mark.parametrize("timeout", [None, 5.0])
def test_edeadlk_instead_of_hanging(lock, second, timeout):
    lock.acquire_write()
    with pytest.raises(OSError) as raised:
        getattr(lock, second)(timeout)
    assert raised.value.errno == errno.EDEADLK
    assert str(raised.value)  # the library's message
    assert lock.try_acquire_write() is False  # a try never waits: it just says busy
    lock.release()


def test_writer_lock_inside_writer_lock_is_edeadlk(lock):
    with lock.writer_lock():
        with pytest.raises(OSError) as raised:
            with lock.writer_lock(timeout=1):
                pass
    assert raised.value.errno == errno.EDEADLK


def test_holds_are_per_lock_object_not_per_thread(lock):
    lock.acquire_write()
    thread = threading.Thread(target=lock.release)
    thread.start()
    thread.join()
    assert lock.try_acquire_write()
    lock.release()


def test_closed_lock(lock):
    lock.close()
    assert lock.closed
    with pytest.raises(OSError) as raised:
        lock.acquire_read()
    assert raised.value.errno == errno.EBADF
    with pytest.raises(ValueError):
        lock.handle
    with pytest.raises(ValueError):
        pickle.dumps(lock)
    lock.close()  # twice is harmless


def test_close_gives_up_a_write_hold_as_a_death_would(lock):
    other = RWLock.from_handle(lock.handle)
    other.acquire_write()
    other.close()
    with lock.writer_lock(timeout=5) as hold:
        assert hold.previous_writer_died
    assert not lock.previous_writer_died  # a normal release cleared the notice


# ---- the dead-writer notice ---------------------------------------------------------------------

HOLDER = """
import sys, time
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
lock.acquire_write()
print("held", flush=True)
time.sleep(60)
"""


def test_sigkilled_python_writer_is_recovered_and_reported(lock, spawn_child):
    holder = spawn_child([sys.executable, "-c", HOLDER, lock.handle])
    assert holder.line() == "held"
    assert lock.try_acquire_read() is False
    waiter_result = {}

    def wait():
        waiter_result["got"] = lock.acquire_write(timeout=10)

    thread = threading.Thread(target=wait)
    thread.start()
    holder.process.send_signal(signal.SIGKILL)
    thread.join(20)
    assert waiter_result == {"got": True}
    assert lock.previous_writer_died is True
    assert lock.status().previous_writer_died is True
    lock.release()
    assert lock.previous_writer_died is False


# ---- arguments are checked before any native call ------------------------------------------------

BAD_TIMEOUTS = [("1", TypeError), (b"1", TypeError), ([], TypeError), (True, TypeError),
                (-1, ValueError), (-0.001, ValueError), (math.nan, ValueError), (-math.inf, ValueError)]


@pytest.mark.parametrize("timeout,error", BAD_TIMEOUTS)
@pytest.mark.parametrize("method", ["acquire_read", "acquire_write", "reader_lock", "writer_lock",
                                    "reader_lock_async", "writer_lock_async"])
def test_bad_timeouts(lock, method, timeout, error):
    with pytest.raises(error):
        getattr(lock, method)(timeout)
    with pytest.raises(error):
        getattr(lock, method)(timeout=timeout)
    assert lock.status().readers == 0 and lock.status().writer_pid is None


@pytest.mark.parametrize("method", ["acquire_read_async", "acquire_write_async"])
@pytest.mark.parametrize("timeout,error", BAD_TIMEOUTS)
def test_bad_timeouts_async(lock, method, timeout, error):
    import asyncio
    with pytest.raises(error):
        asyncio.run(getattr(lock, method)(timeout))


def test_good_timeouts(lock):
    from fractions import Fraction
    for timeout in (0, 0.0, 1, 2.5, math.inf, Fraction(1, 10), 10**30, 1e300):
        assert lock.acquire_read(timeout) is True
        lock.release()


def test_bad_call_shapes(lock):
    with pytest.raises(TypeError):
        lock.acquire_read(1, 2)
    with pytest.raises(TypeError):
        lock.acquire_read(timout=1)
    with pytest.raises(TypeError):
        lock.acquire_write(1, timeout=1)
    with pytest.raises(TypeError):
        lock.try_acquire_read(1)
    with pytest.raises(TypeError):
        lock.release(1)


@pytest.mark.parametrize("name,error", [(5, TypeError), (b"x", TypeError), ("", ValueError),
                                        ("a/b", ValueError), ("a\0b", ValueError), ("x" * 201, ValueError),
                                        ("\ud800", ValueError)])
def test_bad_names(name, error):
    with pytest.raises(error):
        RWLock(name)
    with pytest.raises(error):
        RWLock.remove(name)


def test_bad_create_and_handles():
    with pytest.raises(TypeError):
        RWLock("x", create="yes")
    with pytest.raises(TypeError):
        RWLock.from_handle(5)
    for text in ("", "nope", "prwlock:", "prwlock:\0", "prwlock:" + "x" * 300):
        with pytest.raises(ValueError):
            RWLock.from_handle(text)


def test_longest_name_is_fine():
    name = f"p{os.getpid()}-" + "n" * 200
    name = name[:200]
    lock = RWLock(name)
    assert lock.name == name
    lock.close()
    RWLock.remove(name)


# ---- pickling into every start method; holds are never inherited --------------------------------

@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_pickled_into_every_start_method(lock, method):
    context = multiprocessing.get_context(method)
    queue = context.Queue()
    lock.acquire_write()
    process = context.Process(target=children.queue_result, args=(children.probe, queue, lock))
    process.start()
    handle, got_read, inherited, pid = queue.get(timeout=60)
    process.join(60)
    assert handle == lock.handle
    assert got_read is False, "the child's copy is not the same lock"
    assert inherited is False, "the child inherited the parent's hold"
    lock.release()


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_pool_apply_async(lock, method):
    with multiprocessing.get_context(method).Pool(2) as pool:
        lock.acquire_write()
        handle, got_read, inherited, _ = pool.apply_async(children.probe, (lock,)).get(timeout=60)
        lock.release()
        assert (handle, got_read, inherited) == (lock.handle, False, False)
        assert pool.apply_async(children.timed, (lock, "write", 5)).get(timeout=60) is True


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_process_pool_executor(lock, method):
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as executor:
        lock.acquire_write()
        handle, got_read, inherited, _ = executor.submit(children.probe, lock).result(timeout=60)
        lock.release()
        assert (handle, got_read, inherited) == (lock.handle, False, False)
        assert executor.submit(children.timed, lock, "write", 5).result(timeout=60) is True


def test_forked_copy_holds_nothing(lock):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork here")
    lock.acquire_write()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the very same Python object, copied by fork
        code = 0
        try:
            if lock.try_acquire_write() or lock.try_acquire_read():
                code = 1
            try:
                lock.release()
                code = 2
            except ValueError:
                pass
        except BaseException:
            code = 3
        os.write(write_fd, bytes([code]))
        os._exit(0)
    os.close(write_fd)
    result = os.read(read_fd, 1)
    os.waitpid(pid, 0)
    os.close(read_fd)
    assert result == b"\0"
    lock.release()


def test_timeout_error_is_value_error_and_timeout_error(lock):
    other = RWLock.from_handle(lock.handle)
    holder = threading.Thread(target=other.acquire_write)  # another thread: not our own EDEADLK
    holder.start()
    holder.join()
    with pytest.raises(LockTimeoutError) as raised:
        with lock.reader_lock(timeout=0.05):
            pass
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, TimeoutError)
    other.release()
    other.close()


INTERRUPTED_WAITER = """
import sys, time
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
print("waiting", flush=True)
start = time.monotonic()
try:
    lock.acquire_write() if sys.argv[2] == "write" else lock.acquire_read()
    print("acquired", flush=True)
except KeyboardInterrupt:
    status = lock.status()
    print(f"interrupted waiting_writers={status.waiting_writers} waiting_readers={status.waiting_readers}", flush=True)
    try:
        lock.release()
        print("held something", flush=True)
    except ValueError:
        print("holds nothing", flush=True)
"""


@pytest.mark.parametrize("mode", ["write", "read"])
def test_ctrl_c_interrupts_a_wait_without_a_limit(lock, spawn_child, mode):
    lock.acquire_write()
    waiter = spawn_child([sys.executable, "-c", INTERRUPTED_WAITER, lock.handle, mode])
    assert waiter.line() == "waiting"
    key = "waiting_writers" if mode == "write" else "waiting_readers"
    assert wait_until(lambda: getattr(lock.status(), key) >= 1)
    waiter.process.send_signal(signal.SIGINT)
    assert waiter.line(10) == "interrupted waiting_writers=0 waiting_readers=0"
    assert waiter.line() == "holds nothing"
    assert waiter.wait() == 0
    lock.release()


def test_a_forked_child_dropping_its_copy_leaves_the_parents_hold_alone(lock):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork here")
    lock.acquire_write()
    pid = os.fork()
    if pid == 0:  # the child drops its copy (the library closes it) and exits normally
        code = 0
        try:
            other = RWLock.from_handle(lock.handle)
            if other.try_acquire_read():
                code = 1
            other.close()
            del other
            lock.close()
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    probe = RWLock.from_handle(lock.handle)
    assert probe.try_acquire_read() is False  # the parent still holds write
    assert lock.previous_writer_died is False
    lock.release()
    assert probe.try_acquire_write() is True
    probe.release()
    probe.close()


def test_many_tasks_do_not_use_up_the_lock_s_process_slots(lock):
    """Each task unpickles its own lock object, a participant of the lock; closed when the task's
    object goes, it gives its slot back (a lock has 128)."""
    assert lock.status().capacity < 300
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = [pool.apply_async(children.timed, (lock, "read", 5)) for _ in range(300)]
        assert all(r.get(timeout=120) for r in results)

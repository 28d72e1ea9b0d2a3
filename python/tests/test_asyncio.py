"""asyncio: awaitable acquires and async context managers that never block the event loop, and
cancelled waits that leave nothing held."""

import asyncio
import errno
import sys
import threading
import time

import pytest

from swift_prwlock import LockTimeoutError, RWLock

HOLDER = """
import sys
from swift_prwlock import RWLock
lock = RWLock.from_handle(sys.argv[1])
lock.acquire_write()
print("held", flush=True)
sys.stdin.readline()          # hold until the test says so
lock.release()
print("released", flush=True)
"""


def assert_free(lock):
    status = lock.status()
    assert status.readers == 0 and status.writer_pid is None, status
    assert lock.try_acquire_write()
    lock.release()


def test_uncontended_async_acquire_and_context_managers(lock):
    async def main():
        assert await lock.acquire_read_async() is True
        lock.release()
        assert await lock.acquire_write_async(timeout=1) is True
        lock.release()
        async with lock.reader_lock_async(timeout=1) as hold:
            assert hold.held and not hold.write and not hold.previous_writer_died
            assert lock.status().readers == 1
        async with lock.writer_lock_async() as hold:
            assert hold.held and hold.write
        with pytest.raises(KeyError):
            async with lock.writer_lock_async():
                raise KeyError("inside")

    asyncio.run(main())
    assert_free(lock)


def test_async_timeouts(lock, spawn_child):
    holder = spawn_child([sys.executable, "-c", HOLDER, lock.handle])
    assert holder.line() == "held"

    async def main():
        assert await lock.acquire_read_async(timeout=0) is False
        assert await lock.acquire_write_async(timeout=0.1) is False
        with pytest.raises(LockTimeoutError):
            async with lock.reader_lock_async(timeout=0.1):
                pass
        with pytest.raises(ValueError):  # LockTimeoutError is a ValueError, as in prwlock
            async with lock.writer_lock_async(timeout=0.1):
                pass

    asyncio.run(main())
    holder.process.stdin.write("\n")
    holder.process.stdin.flush()
    assert holder.line() == "released"
    assert_free(lock)


def test_hundred_waiters_cancelled_or_served_while_the_loop_keeps_its_timer(lock, spawn_child):
    """100 tasks wait for a lock another process holds; the loop keeps serving a timer; 40 of the
    waits are cancelled; after the holder releases, the other 60 get the lock (readers together,
    writers alone) and nothing stays held."""
    holder = spawn_child([sys.executable, "-c", HOLDER, lock.handle])
    assert holder.line() == "held"
    inside = {"readers": 0, "writers": 0, "overlaps": 0}

    async def task(index):
        write = index % 10 == 0
        context = lock.writer_lock_async(timeout=60) if write else lock.reader_lock_async(timeout=60)
        async with context:
            key = "writers" if write else "readers"
            inside[key] += 1
            if inside["writers"] > 1 or (inside["writers"] and inside["readers"]):
                inside["overlaps"] += 1
            await asyncio.sleep(0.002)
            inside[key] -= 1
        return index

    async def main():
        ticks = []
        stop = asyncio.Event()

        async def timer():
            while not stop.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        timer_task = asyncio.create_task(timer())
        tasks = [asyncio.create_task(task(i)) for i in range(100)]
        await asyncio.sleep(0.2)
        waiting_from = time.monotonic()
        await asyncio.sleep(1.0)
        waiting_ticks = sum(1 for t in ticks if t >= waiting_from)
        assert waiting_ticks >= 10, f"the timer ran {waiting_ticks} times in 1 s while 100 tasks waited"
        assert not any(t.done() for t in tasks), "a task got the lock while another process held it"
        for t in tasks[::5] + tasks[1::5]:  # 40 cancelled while they wait
            t.cancel()
        await asyncio.sleep(0.3)
        holder.process.stdin.write("\n")
        holder.process.stdin.flush()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
        stop.set()
        await timer_task
        return results, ticks

    results, ticks = asyncio.run(main())
    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    served = [r for r in results if isinstance(r, int)]
    assert len(cancelled) == 40 and len(served) == 60, results
    assert inside["overlaps"] == 0
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    # a wait that blocked the loop would stall it for as long as the other process holds the lock
    # (1.5 s); a busy machine may delay it briefly
    assert max(gaps) < 1.0, f"the loop stalled for {max(gaps):.3f} s"
    assert holder.line() == "released"
    assert_free(lock)


def test_cancellation_racing_the_release_leaves_nothing_held(lock):
    """A wait cancelled at about the moment the lock becomes free: whichever wins, no hold stays."""
    other = RWLock.from_handle(lock.handle)

    async def round_(delay, write):
        holder = threading.Thread(target=other.acquire_write)
        holder.start()
        holder.join()
        waiter = asyncio.create_task(lock.acquire_write_async() if write else lock.acquire_read_async())
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        loop.call_later(delay, other.release)
        await asyncio.sleep(delay)
        waiter.cancel()
        try:
            got = await waiter
        except asyncio.CancelledError:
            got = False
        if got:  # it won the race before the cancel: it holds, and releases
            lock.release()
        await asyncio.sleep(0.3)  # the waiter thread's next slice, at the latest
        status = lock.status()
        assert status.readers == 0 and status.writer_pid is None, (delay, write, status)

    async def main():
        for i in range(16):
            await round_(0.001 * (i % 8), i % 2 == 0)

    asyncio.run(main())
    other.close()
    assert_free(lock)


def test_edeadlk_surfaces_in_async_waits(lock):
    async def main():
        assert await lock.acquire_write_async()
        # the loop's thread holds the write lock: a blocking-style wait from the loop would be a
        # deadlock; the async path waits in another thread, so it times out instead of EDEADLK
        assert await lock.acquire_read_async(timeout=0.1) is False
        lock.release()

    asyncio.run(main())
    assert_free(lock)

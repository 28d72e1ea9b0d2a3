"""Acquiring without blocking the event loop.

An async acquire first tries at once on the loop's thread (no thread, no wait: the uncontended
case costs one C call). When the lock is busy, a waiter thread waits for it with the GIL released
and hands the hold to the task through ``loop.call_soon_threadsafe``. Holds belong to the lock
object, not to a thread, so the task releases on the loop's thread what the waiter acquired.

Cancellation: the task's future is cancelled at once (the task sees CancelledError without waiting
for the thread). The waiter waits in slices of at most ``_SLICE`` seconds and stops at the next one;
a hold it acquires for a cancelled task is released, on the loop's thread when the loop is still
running (the decision "deliver or release" is taken there, so a cancellation cannot slip between),
else on the waiter thread. Nothing stays held.

Waiter threads are daemon threads (started with _thread, which does not wait for them to run), started when no idle one is there and ended after
``_IDLE_EXIT`` seconds without work, so a process with waits in flight still exits.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import os
import _thread
import threading
import time
from typing import Any, Callable, Deque, Optional

from . import _native

# The longest single wait of a waiter thread: how late it notices a cancellation. A writer that
# re-waits after a slice queues again at once, so slices cost it nothing measurable.
_SLICE = 0.25
_IDLE_EXIT = 30.0


class _WaiterThreads:
    """Daemon threads for blocking waits. Invariant (under _condition): _idle equals the threads
    waiting for a job minus the jobs queued for them."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._jobs: Deque[Callable[[], None]] = collections.deque()
        self._idle = 0

    def submit(self, job: Callable[[], None]) -> None:
        with self._condition:
            if self._idle > 0:
                self._idle -= 1
                self._jobs.append(job)
                self._condition.notify()
                return
        # _thread, not threading.Thread: Thread.start() waits until the new thread runs, which
        # on a busy machine blocks the event loop for milliseconds per waiter. These threads are
        # daemons in effect: nothing joins them at exit.
        _thread.start_new_thread(self._work, (job,))

    def _work(self, job: Callable[[], None]) -> None:
        while True:
            job()
            job = None  # type: ignore[assignment]
            with self._condition:
                self._idle += 1
                deadline = time.monotonic() + _IDLE_EXIT
                while not self._jobs:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self._idle -= 1
                        return
                    self._condition.wait(remaining)
                job = self._jobs.popleft()


_waiters = _WaiterThreads()


def _reset_after_fork() -> None:
    # The child has none of the parent's threads: start afresh.
    global _waiters
    _waiters = _WaiterThreads()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


class _Wait:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def on_done(self, future: "asyncio.Future[Any]") -> None:
        if future.cancelled():
            self.cancelled = True


def _release(lock: Any, write: bool) -> None:
    if write:
        lock.release_write()
    else:
        lock.release_read()


def _deliver(lock: Any, write: bool, future: "asyncio.Future[Any]", code: Optional[int],
             error: Optional[BaseException]) -> None:
    # Runs on the loop's thread: the one place that decides between handing over and releasing.
    if future.cancelled():
        if code is not None:
            _release(lock, write)
        return
    if future.done():  # cannot happen: only cancellation completes it elsewhere
        if code is not None:
            _release(lock, write)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(code)


def _wait_job(lock: Any, write: bool, deadline: Optional[float], wait: _Wait,
              loop: asyncio.AbstractEventLoop, future: "asyncio.Future[Any]") -> None:
    code: Optional[int] = None
    error: Optional[BaseException] = None
    try:
        while not wait.cancelled:
            if deadline is None:
                piece = _SLICE
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                piece = min(_SLICE, remaining)
            result = lock._acquire_code(write, max(1, int(piece * 1e9)))
            if result != errno.ETIMEDOUT:
                code = result
                break
    except BaseException as caught:  # handed to the task, which raises it
        error = caught
    if wait.cancelled:
        if code is not None:
            _release(lock, write)
        return
    try:
        loop.call_soon_threadsafe(_deliver, lock, write, future, code, error)
    except RuntimeError:  # the loop is closed: nobody will take the hold
        if code is not None:
            _release(lock, write)


async def acquire_async(lock: Any, write: bool, timeout: Optional[float]) -> Optional[int]:
    """Acquires without blocking the loop. Returns 0 or EOWNERDEAD when had, None when the timeout
    passed; raises what the blocking acquire raises."""
    timeout_ns = _native.timeout_ns(timeout)
    code = int(lock._acquire_code(write, 0))
    if code != errno.ETIMEDOUT:
        return code
    if timeout_ns == 0:
        return None
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    wait = _Wait()
    future.add_done_callback(wait.on_done)
    deadline = None if timeout_ns < 0 else time.monotonic() + timeout_ns / 1e9
    _waiters.submit(lambda: _wait_job(lock, write, deadline, wait, loop, future))
    result: Optional[int] = await future
    return result

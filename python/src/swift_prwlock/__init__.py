"""swift_prwlock: a reader-writer lock shared by processes, with the API of the `prwlock` package.

    from swift_prwlock import RWLock

    lock = RWLock()                      # anonymous; pickles into fork, spawn and forkserver children
    with lock.reader_lock(timeout=1.0):  # ValueError (LockTimeoutError) when not had in time
        ...
    if lock.acquire_write(timeout=0.5):  # True when had, False when the timeout passed
        try:
            ...
        finally:
            lock.release()

It is the same lock as Swift's `RWLock` and C's `prwlock_t` (libprwlock): `RWLock(name="inventory")`
opens the lock that `RWLock(name: "inventory")` opens in Swift and `prwlock_open(&l, "inventory",
PRWLOCK_CREATE)` in C. A process that dies holding it never leaves it held; the next acquisitions
are told (`previous_writer_died`). Writers are not starved by overlapping readers. Timeouts run on
the monotonic clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Optional, Tuple, Type, TypeVar

from . import _native
from ._native import ECORRUPT, Hold, LockCorruptError, LockTimeoutError

__all__ = [
    "RWLock",
    "LockStatus",
    "Hold",
    "AsyncHold",
    "LockTimeoutError",
    "LockCorruptError",
    "ECORRUPT",
    "library_version",
    "__version__",
]

__version__ = "0.1.0"

_NAME_MAX = _native.NAME_MAX

_T = TypeVar("_T", bound="RWLock")


def library_version() -> str:
    """The version of the libprwlock this package runs on, e.g. "0.1.0"."""
    return _native.library_version()


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"name {name!r} is not valid UTF-8 text: {error}") from None
    if not encoded:
        raise ValueError("name must not be empty")
    if len(encoded) > _NAME_MAX:
        raise ValueError(f"name is {len(encoded)} bytes long; it must be 1 to {_NAME_MAX} bytes")
    if "/" in name or "\0" in name:
        raise ValueError(f"name {name!r} must not contain '/' or NUL")
    return name


@dataclasses.dataclass(frozen=True)
class LockStatus:
    """A moment's picture of a lock, taken without acquiring it (Swift's `RWLock.Status`).

    The fields are read one by one while other processes keep working: use them to answer "who
    holds it?", not to make decisions.
    """

    #: Read holds across all live processes.
    readers: int
    #: The process holding or claiming the write lock; None when none.
    writer_pid: Optional[int]
    #: True when that writer has finished waiting for readers and holds the lock.
    writer_holds: bool
    #: The process holding the upgradable lock (Swift's acquireUpgradable); None when none.
    upgrader_pid: Optional[int]
    #: Threads waiting to read and to write, across all processes.
    waiting_readers: int
    waiting_writers: int
    #: True when a writer died holding the lock and no writer has finished normally since.
    previous_writer_died: bool
    #: Processes (lock objects) attached to the lock, this one included, and how many may attach.
    attached: int
    capacity: int

    @property
    def summary(self) -> str:
        """The lock's state in a few words: "free", "read-locked ×2", "write-locked by pid 42"..."""
        if self.writer_pid is not None:
            if self.writer_holds:
                return f"write-locked by pid {self.writer_pid}"
            return f"pid {self.writer_pid} waiting for readers to leave"
        return f"read-locked ×{self.readers}" if self.readers > 0 else "free"


def _rebuild(cls: Type[_T], handle: str) -> _T:
    return cls.from_handle(handle)


class RWLock(_native.RWLockBase):
    """A reader-writer lock in shared memory, shared by processes and threads.

    ``RWLock()`` creates a new anonymous lock; pass it to child processes (pickling sends its
    handle, so fork, spawn, forkserver, ``Pool`` and ``ProcessPoolExecutor`` all work while this
    process keeps it open). ``RWLock(name="inventory")`` opens (or, with ``create=True``, creates)
    the named lock that Swift and C programs open by the same name.

    Holds belong to the lock object, not to a thread: a hold taken in one thread may be released
    in another. A forked child's copy holds nothing. A thread that holds the write lock and asks
    for it (or for a read hold) again with a wait gets ``OSError(errno.EDEADLK)``.
    """

    def __init__(self, name: Optional[str] = None, *, create: bool = True) -> None:
        if not isinstance(create, bool):
            raise TypeError(f"create must be a bool, not {type(create).__name__}")
        if name is None:
            self._create()
        else:
            self._open(_check_name(name), create)

    @classmethod
    def from_handle(cls: Type[_T], handle: str) -> _T:
        """Opens the lock a handle text names (``lock.handle`` here, ``lock.handle.description``
        in Swift, ``prwlock_handle()`` in C). An anonymous lock can be opened while the process
        that created it still has it open."""
        if not isinstance(handle, str):
            raise TypeError(f"handle must be a str, not {type(handle).__name__}")
        if not handle.startswith("prwlock:") or "\0" in handle or len(handle.encode("utf-8", "surrogateescape")) >= _native.HANDLE_MAX:
            raise ValueError(f"{handle!r} is not a prwlock handle (they start with 'prwlock:')")
        lock = cls.__new__(cls)
        lock._open_handle(handle)
        return lock

    @staticmethod
    def remove(name: str) -> None:
        """Removes the name of a named lock. Processes that have it open keep using it; the next
        ``RWLock(name)`` creates a new, unrelated lock. FileNotFoundError when there is none."""
        _native.remove(_check_name(name))

    @property
    def name(self) -> Optional[str]:
        """The name of a named lock; None for an anonymous one."""
        parts = self.handle.split(":", 3)
        if len(parts) == 4 and parts[1] == "named":
            return parts[3]
        return None

    def status(self) -> LockStatus:
        """Who holds and who waits for the lock, taken without acquiring it."""
        (readers, writer_pid, writer_holds, upgrader_pid, waiting_readers, waiting_writers,
         previous_writer_died, attached, capacity) = self._status_tuple()
        return LockStatus(
            readers=readers,
            writer_pid=writer_pid or None,
            writer_holds=writer_holds,
            upgrader_pid=upgrader_pid or None,
            waiting_readers=waiting_readers,
            waiting_writers=waiting_writers,
            previous_writer_died=previous_writer_died,
            attached=attached,
            capacity=capacity,
        )

    # ---- asyncio ------------------------------------------------------------------------------

    async def acquire_read_async(self, timeout: Optional[float] = None) -> bool:
        """Acquires a read hold without blocking the event loop: True when had, False when the
        timeout passed. A cancelled wait leaves nothing held."""
        return (await _acquire_async(self, False, timeout)) is not None

    async def acquire_write_async(self, timeout: Optional[float] = None) -> bool:
        """Acquires the write hold without blocking the event loop: True when had, False when the
        timeout passed. A cancelled wait leaves nothing held."""
        return (await _acquire_async(self, True, timeout)) is not None

    def reader_lock_async(self, timeout: Optional[float] = None) -> "AsyncHold":
        """``async with lock.reader_lock_async(timeout=1.0) as hold:`` — a read hold inside the
        block; LockTimeoutError (a ValueError) when not had in time."""
        return AsyncHold(self, False, timeout)

    def writer_lock_async(self, timeout: Optional[float] = None) -> "AsyncHold":
        """``async with lock.writer_lock_async(timeout=1.0) as hold:`` — the write hold inside the
        block; LockTimeoutError (a ValueError) when not had in time."""
        return AsyncHold(self, True, timeout)

    # ---- pickling and display -----------------------------------------------------------------

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        # The handle text, never a descriptor number: it opens the same lock in a forked, spawned
        # or forkserver child. Holds are not sent: the copy holds nothing.
        return (_rebuild, (type(self), self.handle))

    def __copy__(self) -> "RWLock":
        return type(self).from_handle(self.handle)

    def __deepcopy__(self, memo: Any) -> "RWLock":
        return self.__copy__()

    def __repr__(self) -> str:
        if self.closed:
            return f"<{type(self).__module__}.{type(self).__qualname__} closed>"
        name = self.name
        what = f"name={name!r}" if name is not None else f"handle={self.handle!r}"
        return f"<{type(self).__module__}.{type(self).__qualname__} {what}>"


class AsyncHold:
    """The async context manager of ``reader_lock_async()`` / ``writer_lock_async()``."""

    __slots__ = ("lock", "write", "_timeout", "held", "previous_writer_died")

    def __init__(self, lock: RWLock, write: bool, timeout: Optional[float]) -> None:
        _native.timeout_ns(timeout)  # TypeError / ValueError now, not at `async with`
        self.lock = lock
        self.write = write
        self._timeout = timeout
        self.held = False
        self.previous_writer_died = False

    async def __aenter__(self) -> "AsyncHold":
        if self.held:
            raise RuntimeError("this context manager is already entered")
        code = await _acquire_async(self.lock, self.write, self._timeout)
        if code is None:
            raise LockTimeoutError("Unable to acquire lock in context manager: timed out")
        self.held = True
        self.previous_writer_died = code != 0
        return self

    async def __aexit__(self, *exc_info: Any) -> bool:
        if self.held:
            self.held = False
            if self.write:
                self.lock.release_write()
            else:
                self.lock.release_read()
        return False

    def __repr__(self) -> str:
        return (f"<swift_prwlock async {'write' if self.write else 'read'} hold, "
                f"{'held' if self.held else 'not held'}{', previous writer died' if self.previous_writer_died else ''}>")


from ._asyncio import acquire_async as _acquire_async  # noqa: E402  (needs nothing above)

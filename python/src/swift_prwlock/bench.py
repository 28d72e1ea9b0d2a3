"""python -m swift_prwlock.bench — swift_prwlock against the Python reader-writer locks installed.

Compares, in one run, swift_prwlock with whichever of prwlock (pthread_rwlock through ctypes),
filelock's ReadWriteLock (SQLite) and fasteners' InterProcessReaderWriterLock (fcntl) are
installed (`pip install 'swift-prwlock[bench]'` brings the versions measured in the README):

- read pair, write pair: one uncontended acquire + release written as a user writes it
  (`lock.acquire_read(); lock.release()`), the best of several timed loops; for swift_prwlock
  also `with lock.reader_lock(): pass` and `with lock.writer_lock(): pass`;
- writer's longest wait beside 2 readers: two reader processes keep overlapping read holds of
  2 ms; a writer asks for the lock TRIES times with a cap of CAP seconds each; "starved (k of n)"
  when k of its tries hit the cap;
- SIGKILLed holder → next acquire: a process holding the write lock is SIGKILLed while a thread of
  this process waits for the lock; the time from the kill to the waiter's acquisition.

Options: --tries N (10), --cap SECONDS (2.0), --kills N (3), --quick (fewer, shorter loops),
--only NAME[,NAME] (ours, prwlock, filelock, fasteners). Figures vary with the machine's load:
compare libraries within one run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import timeit
from importlib import metadata
from typing import Any, Callable, Dict, List, Optional, Tuple

# ---- the libraries ------------------------------------------------------------------------------


class Library:
    """How the benchmark drives one library. Locks are made by `make(path)` in this process, and
    reach child processes through `context` (prwlock's only under fork)."""

    key = ""
    title = ""
    distribution = ""
    context = "spawn"
    read_statement = ""
    write_statement = ""

    def available(self) -> bool:
        try:
            self.module()
            return True
        except ImportError:
            return False

    def module(self) -> Any:
        raise NotImplementedError

    def version(self) -> str:
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "?"

    def make(self, path: str) -> Any:
        raise NotImplementedError

    def child_lock(self, token: Any) -> Any:
        return token  # the lock object itself (pickled, or inherited by fork)

    def token(self, lock: Any, path: str) -> Any:
        return lock

    def read_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        raise NotImplementedError

    def write_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        raise NotImplementedError

    def acquire_write(self, lock: Any, timeout: float) -> bool:
        raise NotImplementedError

    def acquire_read(self, lock: Any, timeout: float) -> bool:
        raise NotImplementedError


class Ours(Library):
    key, title, distribution = "ours", "swift_prwlock", "swift-prwlock"

    def module(self) -> Any:
        import swift_prwlock
        return swift_prwlock

    def version(self) -> str:
        import swift_prwlock
        return f"{swift_prwlock.__version__} (libprwlock {swift_prwlock.library_version()})"

    def make(self, path: str) -> Any:
        return self.module().RWLock()

    read_statement = "lock.acquire_read(); lock.release()"
    write_statement = "lock.acquire_write(); lock.release()"

    def read_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_read, lock.release

    def write_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_write, lock.release

    def acquire_write(self, lock: Any, timeout: float) -> bool:
        return lock.acquire_write(timeout)

    def acquire_read(self, lock: Any, timeout: float) -> bool:
        return lock.acquire_read(timeout)


class Prwlock(Ours):
    key, title, distribution = "prwlock", "prwlock", "prwlock"
    context = "fork"  # it pickles a descriptor number: nothing else works

    def module(self) -> Any:
        import prwlock
        return prwlock

    def version(self) -> str:
        return Library.version(self)

    def make(self, path: str) -> Any:
        return self.module().RWLock()


class Filelock(Library):
    key, title, distribution = "filelock", "filelock ReadWriteLock", "filelock"

    def module(self) -> Any:
        from filelock import ReadWriteLock
        return ReadWriteLock

    def make(self, path: str) -> Any:
        return self.module()(path + ".db", is_singleton=False)

    def token(self, lock: Any, path: str) -> Any:
        return path  # it cannot be pickled and refuses to work after fork: open it by path

    def child_lock(self, token: Any) -> Any:
        return self.make(token)

    read_statement = "lock.acquire_read(); lock.release()"
    write_statement = "lock.acquire_write(); lock.release()"

    def read_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_read, lock.release

    def write_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_write, lock.release

    def acquire_write(self, lock: Any, timeout: float) -> bool:
        return self._acquired(lock.acquire_write, timeout)

    def acquire_read(self, lock: Any, timeout: float) -> bool:
        return self._acquired(lock.acquire_read, timeout)

    @staticmethod
    def _acquired(acquire: Callable[..., Any], timeout: float) -> bool:
        """filelock raises Timeout instead of returning False."""
        from filelock import Timeout
        try:
            acquire(timeout=timeout)
            return True
        except Timeout:
            return False


class Fasteners(Library):
    key, title, distribution = "fasteners", "fasteners InterProcessReaderWriterLock", "fasteners"

    def module(self) -> Any:
        from fasteners import InterProcessReaderWriterLock
        return InterProcessReaderWriterLock

    def make(self, path: str) -> Any:
        return self.module()(path + ".fcntl")

    def token(self, lock: Any, path: str) -> Any:
        return path

    def child_lock(self, token: Any) -> Any:
        return self.make(token)

    read_statement = "lock.acquire_read_lock(); lock.release_read_lock()"
    write_statement = "lock.acquire_write_lock(); lock.release_write_lock()"

    def read_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_read_lock, lock.release_read_lock

    def write_pair(self, lock: Any) -> Tuple[Callable[[], Any], Callable[[], Any]]:
        return lock.acquire_write_lock, lock.release_write_lock

    def acquire_write(self, lock: Any, timeout: float) -> bool:
        return bool(lock.acquire_write_lock(timeout=timeout))

    def acquire_read(self, lock: Any, timeout: float) -> bool:
        return bool(lock.acquire_read_lock(timeout=timeout))


LIBRARIES: Dict[str, Library] = {lib.key: lib for lib in (Ours(), Prwlock(), Filelock(), Fasteners())}


def release_write(library: Library, lock: Any) -> None:
    library.write_pair(lock)[1]()


def release_read(library: Library, lock: Any) -> None:
    library.read_pair(lock)[1]()


# ---- uncontended pairs ----------------------------------------------------------------------------


def time_statement(statement: str, lock: Any, rounds: int, budget: float) -> float:
    """Seconds per execution of `statement` (as a user writes it, `lock` a global name): the best
    of `rounds` timed loops sized to take about `budget` seconds each (the best, as timeit advises:
    the others measure the machine's other work too)."""
    timer = timeit.Timer(statement, globals={"lock": lock})
    count = max(20, int(budget / max(timer.timeit(20) / 20, 1e-9)))
    return min(timer.repeat(rounds, count)) / count


# ---- writer beside two readers --------------------------------------------------------------------


def reader_loop(key: str, token: Any, stop: Any, ready: Any) -> None:
    library = LIBRARIES[key]
    lock = library.child_lock(token)
    ready.set()
    while not stop.value:  # shared memory read: the readers are out of the lock only for an instant
        if library.acquire_read(lock, 5.0):
            time.sleep(0.002)
            release_read(library, lock)


def writer_beside_readers(library: Library, lock: Any, path: str, tries: int, cap: float) -> Tuple[float, int]:
    """Returns (longest wait of the tries that got in, tries that hit the cap)."""
    context = multiprocessing.get_context(library.context)
    stop = context.RawValue("b", 0)
    readers = []
    for _ in range(2):
        ready = context.Event()
        process = context.Process(target=reader_loop, args=(library.key, library.token(lock, path), stop, ready))
        process.start()
        readers.append((process, ready))
    for _, ready in readers:
        ready.wait(60)
    time.sleep(0.1)
    longest, starved = 0.0, 0
    try:
        for _ in range(tries):
            start = time.monotonic()
            got = library.acquire_write(lock, cap)
            waited = time.monotonic() - start
            if got:
                release_write(library, lock)
                longest = max(longest, waited)
            else:
                starved += 1
            time.sleep(0.02)
    finally:
        stop.value = 1  # the readers leave between holds: a killed reader would wedge prwlock's lock
        for process, _ in readers:
            process.join(30)
            if process.is_alive():
                process.kill()
    return longest, starved


# ---- SIGKILLed holder -----------------------------------------------------------------------------


def hold_write(key: str, token: Any, ready: Any) -> None:
    library = LIBRARIES[key]
    lock = library.child_lock(token)
    if library.acquire_write(lock, 10.0):
        ready.set()
    time.sleep(60)


def recovery_after_kill(library: Library, lock: Any, path: str, cap: float) -> Optional[float]:
    """Seconds from SIGKILL of a write holder to this process's acquisition; None if never (cap)."""
    context = multiprocessing.get_context(library.context)
    ready = context.Event()
    holder = context.Process(target=hold_write, args=(library.key, library.token(lock, path), ready))
    holder.start()
    if not ready.wait(60):
        holder.kill()
        raise RuntimeError(f"{library.title}: the holder did not get the lock")
    got_at: List[float] = []

    def wait() -> None:
        if library.acquire_write(lock, cap):
            got_at.append(time.monotonic())
            release_write(library, lock)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.2)  # the waiter is waiting
    killed_at = time.monotonic()
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    waiter.join(cap + 10)
    return got_at[0] - killed_at if got_at else None


# ---- the run --------------------------------------------------------------------------------------


def microseconds(seconds: float) -> str:
    us = seconds * 1e6
    if us < 1:
        return f"{us * 1000:.0f} ns"
    if us < 10:
        return f"{us:.2f} µs"
    if us < 100:
        return f"{us:.1f} µs"
    return f"{us:.0f} µs"


def milliseconds(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def measure(library: Library, args: argparse.Namespace, directory: str) -> Dict[str, Any]:
    path = os.path.join(directory, library.key)
    lock = library.make(path)
    row: Dict[str, Any] = {"library": library.title, "version": library.version()}
    budget = 0.05 if args.quick else 0.25
    rounds = 3 if args.quick else 9
    row["read"] = time_statement(library.read_statement, lock, rounds, budget)
    row["write"] = time_statement(library.write_statement, lock, rounds, budget)
    if library.key == "ours":
        row["with_read"] = time_statement("with lock.reader_lock():\n    pass", lock, rounds, budget)
        row["with_write"] = time_statement("with lock.writer_lock():\n    pass", lock, rounds, budget)
    print(f"  {library.title}: pairs measured", file=sys.stderr, flush=True)
    row["writer_wait"] = writer_beside_readers(library, lock, path, args.tries, args.cap)
    print(f"  {library.title}: writer beside readers measured", file=sys.stderr, flush=True)
    kills: List[Optional[float]] = []
    for _ in range(args.kills):
        kills.append(recovery_after_kill(library, lock, path, args.cap))
        if kills[-1] is None:
            break  # the dead process still holds it: the lock cannot be used again
    row["kill"] = kills
    print(f"  {library.title}: recovery after SIGKILL measured", file=sys.stderr, flush=True)
    return row


def describe_wait(row: Dict[str, Any], tries: int, cap: float) -> str:
    longest, starved = row["writer_wait"]
    if starved:
        return f"starved ({starved} of {tries} tries hit {cap:g} s)"
    return milliseconds(longest)


def describe_kill(row: Dict[str, Any]) -> str:
    kills = row["kill"]
    if any(k is None for k in kills):
        return f"never (the dead process still holds it after {len(kills)} wait{'s' if len(kills) > 1 else ''})"
    return f"{milliseconds(min(kills))}–{milliseconds(max(kills))}" if len(kills) > 1 else milliseconds(kills[0])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m swift_prwlock.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10, help="writer tries beside two readers (10)")
    parser.add_argument("--cap", type=float, default=2.0, help="seconds a writer try may wait (2.0)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILL recoveries measured (3)")
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--only", default="", help="comma-separated: ours,prwlock,filelock,fasteners")
    args = parser.parse_args(argv)
    wanted = [k for k in (args.only.split(",") if args.only else LIBRARIES) if k]
    for key in wanted:
        if key not in LIBRARIES:
            parser.error(f"unknown library {key!r}; choose from {', '.join(LIBRARIES)}")
    libraries = [LIBRARIES[k] for k in wanted if LIBRARIES[k].available()]
    missing = [LIBRARIES[k].title for k in wanted if not LIBRARIES[k].available()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="swift-prwlock-bench-") as directory:
        for library in libraries:
            print(f"measuring {library.title} {library.version()}", file=sys.stderr, flush=True)
            rows.append(measure(library, args, directory))

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; pair = uncontended acquire + release "
          f"(best of timed loops); writer beside 2 readers: {args.tries} tries, cap {args.cap:g} s; "
          f"SIGKILL → next acquire: {args.kills} kills")
    print()
    print("| library | read pair | write pair | writer's longest wait beside 2 readers | SIGKILLed holder → next acquire |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['library']} {row['version']} | {microseconds(row['read'])} | {microseconds(row['write'])} | "
              f"{describe_wait(row, args.tries, args.cap)} | {describe_kill(row)} |")
    ours = next((r for r in rows if r["library"] == "swift_prwlock"), None)
    if ours is not None:
        print()
        print(f"swift_prwlock `with lock.reader_lock():` {microseconds(ours['with_read'])} "
              f"({ours['with_read'] / ours['read']:.2f}× the bare pair), `with lock.writer_lock():` "
              f"{microseconds(ours['with_write'])} ({ours['with_write'] / ours['write']:.2f}×)")
        for row in rows:
            if row is ours:
                continue
            print(f"against {row['library']}: read pair {ours['read'] / row['read']:.3f}× its time "
                  f"({row['read'] / ours['read']:.0f}× faster), write pair {ours['write'] / row['write']:.3f}× "
                  f"({row['write'] / ours['write']:.0f}× faster)")
    if missing:
        print()
        print(f"not installed, not measured: {', '.join(missing)} (pip install 'swift-prwlock[bench]')")
    return 0


if __name__ == "__main__":
    # Run the module's own copy, so that child processes find these functions by their module name.
    from swift_prwlock.bench import main as _main

    sys.exit(_main())

#if canImport(Glibc)
import Glibc
#endif
import CPRWLockShim

/// Waking waiters when a process they wait for dies ("Waiting" in docs/DESIGN.md). The watcher
/// (CPRWLockShim/watcher.c) sleeps in poll() on pidfds; this side decides what it watches. It only
/// wakes: recovery still rests on the liveness tokens alone, so a PID that is wrong, reused, or in
/// another namespace costs time (the waiter's timer), never safety.
extension LockCore {
    var watcherDeaths: UInt32 {
        guard let watcher else { return 0 }
        return cprwlock_watcher_deaths(watcher)
    }

    /// Makes `watched` the watches of `slots` (never our own), adding and removing as needed.
    /// Returns true when every slot of `slots` but ours is watched, so its death wakes the waiter.
    func watch(_ slots: [Int], replacing watched: inout [(slot: Int, pid: Int32)]) -> Bool {
        guard let watcher, pidNamespace != 0 else { return false }
        let me = fastSlot
        let wanted = slots.filter { $0 != me }
        return withSlowPath { () -> Bool in
            // Drop what is no longer waited for (or whose slot changed owner).
            watched.removeAll { entry in
                let keep = wanted.contains(entry.slot) && Int32(bitPattern: cprwlock_load32(words.pid(entry.slot))) == entry.pid
                if !keep { cprwlock_watcher_unwatch(watcher, UInt32(entry.slot), entry.pid) }
                return !keep
            }
            var all = true
            for slot in wanted where !watched.contains(where: { $0.slot == slot }) {
                if let pid = watchable(slot), cprwlock_watcher_watch(watcher, UInt32(slot), pid) == 0 {
                    // The pidfd was opened for `pid`; it is this slot's owner only if the slot is
                    // still held and still records that PID (a live owner's PID cannot be reused).
                    if cprwlock_ofd_is_locked(binding.pointee.token_fd, Int64(slot)) == 1,
                       Int32(bitPattern: cprwlock_load32(words.pid(slot))) == pid {
                        watched.append((slot, pid))
                        continue
                    }
                    cprwlock_watcher_unwatch(watcher, UInt32(slot), pid)
                }
                all = false
            }
            return all && !wanted.isEmpty
        }
    }

    /// The PID to watch for `slot`: its owner's, if it is attached and in our PID namespace.
    private func watchable(_ slot: Int) -> Int32? {
        guard cprwlock_load32(words.state(slot)) == 1 else { return nil }
        let namespace = cprwlock_load32(words.pidNamespace(slot))
        guard namespace == pidNamespace else { return nil }
        let pid = Int32(bitPattern: cprwlock_load32(words.pid(slot)))
        return pid > 0 ? pid : nil
    }

    func unwatch(_ watched: inout [(slot: Int, pid: Int32)]) {
        guard let watcher else { return }
        withSlowPath {
            for entry in watched { cprwlock_watcher_unwatch(watcher, UInt32(entry.slot), entry.pid) }
        }
        watched.removeAll()
    }
}

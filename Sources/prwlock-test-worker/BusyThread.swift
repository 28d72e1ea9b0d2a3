import Glibc
import PRWLock

/// Starts a thread that takes `lock`'s slow-path mutex over and over (status() takes it), for
/// the fork test. Declared outside main.swift so that the thread's closure is not main-actor code.
func startSlowPathThread(_ lock: RWLock) {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(lock)
    pthread_create(&thread, nil, { raw in
        let lock = Unmanaged<RWLock>.fromOpaque(raw!).takeUnretainedValue()
        while true { _ = try? lock.status() }
    }, box.toOpaque())
}

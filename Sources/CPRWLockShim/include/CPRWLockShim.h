// The C shim of swift-prwlock: only what Swift cannot express directly.
//
// * Atomics on 32/64-bit words that live inside a shared mapping (Synchronization.Atomic cannot be
//   placed at an address). They are `static inline` so the Swift optimiser inlines them into the
//   lock's fast path; every one is sequentially consistent unless its name says otherwise.
// * futex(2), which glibc only reaches through the variadic syscall(2).
// * fcntl(2) with `struct flock` for OFD locks, memfd_create and sealing.
// * The fork registry: a pthread_atfork child handler that closes inherited liveness tokens.
// * process-shared pthread_rwlock, for the benchmark's comparison only.
//
// Every symbol carries the `cprwlock_` prefix.
#ifndef CPRWLOCKSHIM_H
#define CPRWLOCKSHIM_H

#include <pthread.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

// MARK: - Atomics on shared words

static inline uint32_t cprwlock_load32(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline uint32_t cprwlock_load32_relaxed(const uint32_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void cprwlock_store32(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
/// A store that later stores cannot overtake: after it, a release fence (no instruction on x86,
/// `dmb ish` on ARM) keeps the caller's following writes from becoming visible first.
static inline void cprwlock_store32_before_later_stores(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
/// A store that earlier loads and stores cannot overtake (release): no fence on x86.
static inline void cprwlock_store32_after_earlier_accesses(uint32_t *p, uint32_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline uint32_t cprwlock_fetch_add32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t cprwlock_fetch_sub32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t cprwlock_fetch_or32(uint32_t *p, uint32_t v) {
    return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}
static inline uint32_t cprwlock_exchange32(uint32_t *p, uint32_t v) {
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
/// Compare-and-swap; returns true on success. On failure `*expected` holds the value seen.
static inline bool cprwlock_cas32(uint32_t *p, uint32_t *expected, uint32_t desired) {
    return __atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline uint64_t cprwlock_load64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void cprwlock_store64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
/// Compare-and-swap on a 64-bit word; returns true on success.
static inline bool cprwlock_cas64(uint64_t *p, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static inline uint64_t cprwlock_fetch_or64(uint64_t *p, uint64_t v) {
    return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}
static inline uint64_t cprwlock_fetch_and64(uint64_t *p, uint64_t v) {
    return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}
static inline void cprwlock_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// An identity of the calling thread, unique among the threads alive in this process: the thread
/// pointer (one register read; on glibc the same value as pthread_self()).
static inline uintptr_t cprwlock_thread_id(void) {
#if defined(__x86_64__) || defined(__aarch64__)
    return (uintptr_t)__builtin_thread_pointer();
#else
    return (uintptr_t)pthread_self();
#endif
}

// MARK: - Time and futex

/// CLOCK_MONOTONIC in nanoseconds.
int64_t cprwlock_monotonic_ns(void);

/// Sleeps while `*word == expected`, until woken or the absolute CLOCK_MONOTONIC deadline
/// (nanoseconds; < 0 means none). Shared (not FUTEX_PRIVATE_FLAG). Returns 0 when woken, or
/// ETIMEDOUT, EAGAIN (value differed), EINTR; never retries by itself.
int cprwlock_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns);

/// Wakes every waiter on `word`. Returns the number woken, or -errno.
int cprwlock_futex_wake_all(uint32_t *word);

// MARK: - OFD locks (liveness tokens)

/// Takes an OFD write lock on the single byte at `offset`, without waiting.
/// Returns 0, or the errno (EAGAIN/EACCES: someone else holds it).
int cprwlock_ofd_trylock(int fd, int64_t offset);

/// Releases the OFD lock on the byte at `offset`. Returns 0 or the errno.
int cprwlock_ofd_unlock(int fd, int64_t offset);

/// Takes (type F_RDLCK or F_WRLCK) or releases (F_UNLCK) an OFD lock on byte 0 of `fd`,
/// waiting as long as it takes. For the benchmark's comparison. Returns 0 or the errno.
int cprwlock_ofd_lock_wait(int fd, int type);

/// flock(2) with EINTR retried (Swift sees `flock` as the struct). Returns 0 or the errno.
int cprwlock_flock(int fd, int operation);

/// Whether another open file description holds a lock on the byte at `offset`.
/// Returns 1 (held), 0 (free), or -errno.
int cprwlock_ofd_is_locked(int fd, int64_t offset);

// MARK: - Memory files

/// memfd_create with MFD_CLOEXEC | MFD_ALLOW_SEALING. Returns the fd or -1 (errno set).
int cprwlock_memfd_create(const char *name);

/// Seals a memfd against shrinking, growing and further sealing. Returns 0 or -1 (errno set).
int cprwlock_memfd_seal(int fd);

/// Whether `fd` carries the seals cprwlock_memfd_seal adds. Returns 1, 0, or -errno.
int cprwlock_memfd_is_sealed(int fd);

// MARK: - Fork registry

/// The slot value that means "not attached in this process".
#define CPRWLOCK_NO_SLOT UINT32_MAX

/// A participant's process-private view of its attachment. The fast path reads `slot`; the
/// slow paths (attach, recovery, detach) run under `mutex`. The atfork handlers take every
/// binding's mutex before fork() and, in the child, close `token_fd`, set `slot` to
/// CPRWLOCK_NO_SLOT and re-initialise the mutex, so a child can neither inherit a half-done slow
/// path nor act with its parent's identity.
typedef struct cprwlock_binding {
    uint32_t slot;
    int32_t token_fd;
    struct cprwlock_binding *next;
    pthread_mutex_t mutex;
    /// The participant's death watcher, if it has one (reset in a forked child).
    struct cprwlock_watcher *watcher;
} cprwlock_binding;

/// Allocates and registers a binding (slot = NO_SLOT, token_fd = -1). NULL on allocation failure.
cprwlock_binding *cprwlock_binding_create(void);

/// Unregisters and frees the binding. Does not close its token.
void cprwlock_binding_destroy(cprwlock_binding *binding);

/// Locks and unlocks the binding's slow-path mutex.
void cprwlock_binding_lock(cprwlock_binding *binding);
void cprwlock_binding_unlock(cprwlock_binding *binding);

/// Opens a fresh file description of `segment_fd` (via /proc/self/fd) as the binding's token.
/// The caller holds the binding's mutex, so fork() cannot copy a token that is open but not yet
/// recorded. Returns the new fd or -errno.
int cprwlock_binding_open_token(cprwlock_binding *binding, int segment_fd);

/// Closes the binding's token, if any. The caller holds the binding's mutex. Returns 0.
int cprwlock_binding_close_token(cprwlock_binding *binding);

// MARK: - Death watcher (watcher.c)

/// A thread, started on demand, that waits in poll() on pidfds of processes a participant's
/// waiters wait for, and when one exits bumps a counter and wakes the two futex words given.
/// Its table is guarded by the binding's mutex.
typedef struct cprwlock_watcher cprwlock_watcher;

/// Creates the binding's watcher (no thread yet); the futex words must outlive it. NULL on ENOMEM.
cprwlock_watcher *cprwlock_watcher_create(cprwlock_binding *binding, uint32_t *wake_first, uint32_t *wake_second);

/// Stops the thread (waiting for it to leave) and frees the watcher. The caller does not hold the
/// binding's mutex.
void cprwlock_watcher_destroy(cprwlock_watcher *watcher);

/// The atfork child handler's part: no thread exists in the child; closes the copied fds.
void cprwlock_watcher_forget_in_child(cprwlock_watcher *watcher);

/// Watches process `pid` for `slot` (counted: as many unwatches as watches). Starts the thread on
/// first use. The caller holds the binding's mutex. Returns 0 or -errno (ESRCH: already gone).
int cprwlock_watcher_watch(cprwlock_watcher *watcher, uint32_t slot, int32_t pid);

/// Undoes one watch of (`slot`, `pid`). The caller holds the binding's mutex.
void cprwlock_watcher_unwatch(cprwlock_watcher *watcher, uint32_t slot, int32_t pid);

/// How many watched processes have exited so far.
uint32_t cprwlock_watcher_deaths(const cprwlock_watcher *watcher);


// MARK: - Running a command (prwlock run)

/// fork()s and execvp()s `argv` (NULL-terminated) in a child that gets `parent_death_signal` if
/// this process dies first (PR_SET_PDEATHSIG). Between fork and exec the child calls only
/// async-signal-safe functions. Returns the child's pid, or -errno.
int cprwlock_spawn(char *const argv[], int parent_death_signal);

/// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH received by this
/// process to `pid` from now on.
void cprwlock_forward_signals_to(pid_t pid);

// MARK: - Process-shared pthread_rwlock (benchmark comparison only)

size_t cprwlock_pthread_rwlock_size(void);
int cprwlock_pthread_rwlock_init(void *memory, int prefer_writer);
int cprwlock_pthread_rdlock(void *memory);
int cprwlock_pthread_wrlock(void *memory);
int cprwlock_pthread_unlock(void *memory);
/// pthread_rwlock_clockwrlock / _clockrdlock on CLOCK_MONOTONIC with an absolute deadline in
/// nanoseconds.
int cprwlock_pthread_timedwrlock(void *memory, int64_t deadline_ns);
int cprwlock_pthread_timedrdlock(void *memory, int64_t deadline_ns);

#endif

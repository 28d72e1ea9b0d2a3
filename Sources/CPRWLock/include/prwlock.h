/*
 * prwlock.h — the C interface of swift-prwlock (libprwlock).
 *
 * A reader-writer lock shared by processes and threads: many readers at once, one writer alone.
 * It lives in shared memory (a named lock any process of the same user can open, or an anonymous
 * one passed to children), waits with real timeouts on the monotonic clock, is fair to writers
 * and readers, and is never left held by a process that died holding it: the processes waiting
 * for it take over within milliseconds, and the next acquisitions are told (EOWNERDEAD) so that
 * the protected data can be repaired. It is the same lock as Swift's `RWLock`: a C, Python and
 * Swift process can share one lock, and the Swift code is its only implementation.
 *
 *     #include <prwlock.h>
 *
 *     prwlock_t *lock = NULL;
 *     int rc = prwlock_open(&lock, "inventory", PRWLOCK_CREATE);
 *     if (rc != 0) { fprintf(stderr, "%s\n", prwlock_last_error()); return 1; }
 *     rc = prwlock_acquire_write(lock, 2000000000);          // 2 s
 *     if (rc == EOWNERDEAD) { repair_inventory(); rc = 0; }  // a writer died mid-write
 *     if (rc == 0) { write_inventory(); prwlock_release(lock); }
 *     prwlock_close(lock);
 *
 * Link with `pkg-config --cflags --libs prwlock`. The library is self-contained: it needs no
 * Swift installation at run time.
 *
 * Return codes. Every function that returns `int` returns 0 on success or an errno value, as
 * pthread's functions do, and never sets `errno`. After a non-zero return, `prwlock_last_error()`
 * gives a sentence that says what went wrong and what to do; `prwlock_strerror(rc)` gives a short
 * static text for any code. The codes:
 *
 *     0                 success
 *     EOWNERDEAD        success, the lock is held, but a writer died holding it and no writer has
 *                       finished normally since: the protected data may be half-written. A writer
 *                       that gets it should repair the data; its normal release clears the notice.
 *     ETIMEDOUT         not acquired before the timeout (also a try that found the lock busy)
 *     EDEADLK           the calling thread holds the write lock and asked for it again (read or
 *                       write) with a wait: it would wait for itself forever
 *     EPERM             a release without a matching hold
 *     EINVAL            a NULL pointer, a bad name, a bad handle text, an out-of-range argument
 *     EBADF             the lock was closed with prwlock_close()
 *     ENOENT            no lock of that name exists (prwlock_open without PRWLOCK_CREATE,
 *                       prwlock_remove), or an anonymous lock's creator no longer has it open
 *     EACCES            the lock's file belongs to another user, or its permissions are unsafe
 *     ENOSPC            every process slot of the lock is taken by a live process
 *     EAGAIN            this process already holds the maximum number of read holds (2^30)
 *     ERANGE            the buffer given to prwlock_handle() is too small
 *     ENOMEM, EMFILE... a system call failed; prwlock_last_error() names it
 *     PRWLOCK_ECORRUPT  the lock's shared memory is not a valid lock (corrupt, or another layout)
 *
 * Threads. A prwlock_t may be used by every thread of a process at once; threads exclude each
 * other exactly as processes do. Holds belong to the prwlock_t, not to a thread: any thread may
 * release them (then prefer prwlock_release_read/_write, which say which hold they mean).
 * prwlock_close() must not run while another thread uses the same prwlock_t.
 *
 * fork(). A child's copy of a prwlock_t holds nothing and attaches itself as a new participant on
 * first use; it does not keep the parent alive in the lock's eyes.
 *
 * Self-deadlock. A thread that holds the write lock and asks for the read or write lock again
 * with a wait gets EDEADLK at once (pthread_rwlock's behaviour). A thread that holds a read lock
 * and asks for the write lock is NOT detected: read holds are counted per process, not per
 * thread, so the lock cannot tell whether another thread of the process will release the read
 * hold it waits for. Give such waits a timeout.
 */
#ifndef PRWLOCK_H
#define PRWLOCK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header and library: major * 10000 + minor * 100 + patch. */
#define PRWLOCK_VERSION_NUMBER 100
#define PRWLOCK_VERSION "0.1.0"

/* The return code of a lock whose shared memory is not a valid lock (no errno value says it). */
#define PRWLOCK_ECORRUPT 0x5052

/* prwlock_open() flag: create the named lock if it does not exist (atomically: racing creators
 * all end up with the same lock). Without it, a missing lock is ENOENT. */
#define PRWLOCK_CREATE 0x1

/* A buffer of this many bytes always holds a handle text with its terminating NUL. */
#define PRWLOCK_HANDLE_MAX 256

/* The longest lock name, in bytes (without the NUL). */
#define PRWLOCK_NAME_MAX 200

/* A lock opened by this process. Opaque; made by prwlock_create/_open/_open_handle, ended by
 * prwlock_close. */
typedef struct prwlock prwlock_t;

/* What prwlock_status() reports: a moment's picture, read field by field while others work. */
typedef struct prwlock_status {
    /* Set by the caller to sizeof(prwlock_status_t) before the call: later versions append
     * fields, and fill only the fields that fit in the size the caller says it has. */
    size_t size;
    /* Read holds across all live processes. */
    int64_t readers;
    /* The process holding or claiming the write lock; 0 when none. */
    pid_t writer_pid;
    /* 1 when that writer has finished waiting for readers and holds the lock. */
    int32_t writer_holds;
    /* The process holding the upgradable lock (Swift's acquireUpgradable); 0 when none. */
    pid_t upgrader_pid;
    /* Threads waiting to read and to write, across all processes. */
    int64_t waiting_readers;
    int64_t waiting_writers;
    /* 1 when a writer died holding the lock and no writer has finished normally since. */
    int32_t previous_writer_died;
    /* Processes attached to the lock (this one included), and how many may attach at once. */
    int32_t attached;
    int32_t capacity;
} prwlock_status_t;

/* Options of prwlock_open_with() and prwlock_create_with(). Zero-initialise it, set `size`, then
 * the fields you want; a zero field means its default. */
typedef struct prwlock_options {
    /* Set by the caller to sizeof(prwlock_options_t): later versions append fields. */
    size_t size;
    /* A new named lock's file mode, applied exactly whatever the umask, and the most write access
     * an existing one may grant (group/other write shares the lock with other users: only for
     * users you trust). 0: 0600. */
    unsigned int mode;
    /* How many processes (prwlock_t's) can use a new lock at once, 1 to 1024. 0: 128. An existing
     * lock keeps its own. */
    int32_t max_processes;
} prwlock_options_t;

/* ---- Opening and closing ------------------------------------------------------------------- */

/* Creates a new anonymous lock (a sealed memory file) and stores it in *lock. Share it with a
 * child by fork(), or pass prwlock_handle()'s text to a spawned process, which calls
 * prwlock_open_handle(). Returns 0, EINVAL (lock is NULL), or a system error. */
int prwlock_create(prwlock_t **lock);

/* Opens the lock named `name` (1 to PRWLOCK_NAME_MAX bytes, no '/'; the file
 * /dev/shm/prwlock.<name>, mode 0600), creating it when flags has PRWLOCK_CREATE. The same name
 * opens the same lock from Swift's RWLock(name:) and Python's RWLock(name=...). Returns 0,
 * ENOENT, EINVAL (NULL, bad name, unknown flag), EACCES (another user's file, or unsafe
 * permissions), PRWLOCK_ECORRUPT, or a system error. */
int prwlock_open(prwlock_t **lock, const char *name, int flags);

/* prwlock_create() and prwlock_open() with options (NULL: the defaults). Also EINVAL for an
 * out-of-range option or a size smaller than the first version's struct. */
int prwlock_create_with(prwlock_t **lock, const prwlock_options_t *options);
int prwlock_open_with(prwlock_t **lock, const char *name, int flags, const prwlock_options_t *options);

/* Opens the lock a handle text names (from prwlock_handle(), or Swift's `lock.handle`). An
 * anonymous lock can be opened while the process that created it still has it open. Returns 0,
 * EINVAL (not a handle), ENOENT (its creator is gone or no longer has it open, or the named lock
 * was removed), EACCES, PRWLOCK_ECORRUPT, or a system error. */
int prwlock_open_handle(prwlock_t **lock, const char *handle);

/* Writes the lock's handle text, NUL-terminated, into buf. Returns 0, EINVAL, EBADF, or ERANGE
 * when size is too small (PRWLOCK_HANDLE_MAX always suffices); buf is then an empty string. */
int prwlock_handle(prwlock_t *lock, char *buf, size_t size);

/* Closes the lock and frees what this process used for it. Holds still open are given up as a
 * death would give them up: if it held the write lock, the next acquisitions get EOWNERDEAD.
 * NULL is accepted. The few bytes of the prwlock_t itself stay allocated, so that a later use of
 * the closed pointer returns EBADF instead of touching freed memory. */
void prwlock_close(prwlock_t *lock);

/* Removes the name of a named lock. Processes that have it open keep using it; the next
 * prwlock_open(..., PRWLOCK_CREATE) creates a new, unrelated lock. Returns 0, ENOENT, EINVAL, or
 * a system error. */
int prwlock_remove(const char *name);

/* ---- Acquiring and releasing --------------------------------------------------------------- */

/* Acquires a read lock. timeout_ns < 0: wait as long as it takes; 0: try once without waiting;
 * > 0: wait at most that many nanoseconds on the monotonic clock (signals neither shorten nor
 * end the wait). Returns 0 or EOWNERDEAD with the lock held; else ETIMEDOUT, EDEADLK, EAGAIN,
 * ENOSPC, EINVAL, EBADF, PRWLOCK_ECORRUPT, nothing held. */
int prwlock_acquire_read(prwlock_t *lock, int64_t timeout_ns);

/* Acquires the write lock, with timeout_ns as for prwlock_acquire_read(). Once a writer waits,
 * new readers wait behind it; readers already queued behind the previous writer go first. Returns
 * 0 or EOWNERDEAD with the lock held; else ETIMEDOUT, EDEADLK, ENOSPC, EINVAL, EBADF,
 * PRWLOCK_ECORRUPT, nothing held. */
int prwlock_acquire_write(prwlock_t *lock, int64_t timeout_ns);

/* Releases this prwlock_t's write hold if it has one, else one of its read holds (Python
 * prwlock's release()). Returns 0, EPERM (nothing held), EINVAL, EBADF. */
int prwlock_release(prwlock_t *lock);

/* Releases one read hold. Returns 0, EPERM (no read hold), EINVAL, EBADF. */
int prwlock_release_read(prwlock_t *lock);

/* Releases the write hold; a normal release clears the EOWNERDEAD notice. Returns 0, EPERM (no
 * write hold), EINVAL, EBADF. */
int prwlock_release_write(prwlock_t *lock);

/* ---- Inspecting ---------------------------------------------------------------------------- */

/* Fills *status (whose `size` the caller has set) without acquiring the lock. Returns 0, EINVAL
 * (NULL, or a size smaller than the first version's struct), EBADF, or a system error. */
int prwlock_status(prwlock_t *lock, prwlock_status_t *status);

/* 1 when a writer died holding the lock and no writer has finished normally since, else 0
 * (also for NULL or a closed lock). */
int prwlock_previous_writer_died(prwlock_t *lock);

/* ---- Errors -------------------------------------------------------------------------------- */

/* A short static text for any return code (never NULL; unknown codes get a generic text). */
const char *prwlock_strerror(int code);

/* The full description of the last non-zero return on this thread (what went wrong and what to
 * do), or "no error" before any. A successful call leaves it as it was; the text stays valid
 * until the next non-zero return on this thread. */
const char *prwlock_last_error(void);

/* The library's version text, e.g. "0.1.0". */
const char *prwlock_version(void);

#ifdef __cplusplus
}
#endif

#endif /* PRWLOCK_H */

#include "CPRWLockShim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(uint32_t) == 4, "futex words are 32-bit");

// MARK: - Time and futex

int64_t cprwlock_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cprwlock_futex_wait(uint32_t *word, uint32_t expected, int64_t deadline_ns) {
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (deadline_ns >= 0) {
        ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
        ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
        tsp = &ts;
    }
    // FUTEX_WAIT_BITSET takes an absolute deadline on CLOCK_MONOTONIC (no FUTEX_CLOCK_REALTIME).
    // No FUTEX_PRIVATE_FLAG: the word lives in MAP_SHARED memory used by several processes.
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? 0 : errno;
}

int cprwlock_futex_wake_all(uint32_t *word) {
    long rc = syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return rc >= 0 ? (int)rc : -errno;
}

// MARK: - OFD locks

static int ofd_setlk(int fd, int64_t offset, short type) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)offset;
    fl.l_len = 1;
    for (;;) {
        if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

int cprwlock_ofd_trylock(int fd, int64_t offset) { return ofd_setlk(fd, offset, F_WRLCK); }
int cprwlock_ofd_unlock(int fd, int64_t offset) { return ofd_setlk(fd, offset, F_UNLCK); }

int cprwlock_ofd_lock_wait(int fd, int type) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = (short)type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    for (;;) {
        if (fcntl(fd, F_OFD_SETLKW, &fl) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

int cprwlock_flock(int fd, int operation) {
    for (;;) {
        if (flock(fd, operation) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

int cprwlock_ofd_is_locked(int fd, int64_t offset) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)offset;
    fl.l_len = 1;
    for (;;) {
        if (fcntl(fd, F_OFD_GETLK, &fl) == 0) return fl.l_type == F_UNLCK ? 0 : 1;
        if (errno != EINTR) return -errno;
    }
}

// MARK: - Memory files

int cprwlock_memfd_create(const char *name) {
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int cprwlock_memfd_seal(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

int cprwlock_memfd_is_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return -errno;
    int wanted = F_SEAL_SHRINK | F_SEAL_GROW;
    return (seals & wanted) == wanted ? 1 : 0;
}

// MARK: - Fork registry
//
// Every binding is on one list, guarded by registry_mutex. Lock order: registry_mutex, then a
// binding's mutex; slow paths take only their binding's mutex. The prepare handler takes the
// registry and every binding mutex, so fork() never copies a slow path half done (a token open but
// unrecorded, a recovery midway); the child handler closes every inherited token, invalidates every
// slot and re-initialises the mutexes. Only the forking thread exists in the child.

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static cprwlock_binding *registry_head = NULL;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void) {
    pthread_mutex_lock(&registry_mutex);
    for (cprwlock_binding *b = registry_head; b != NULL; b = b->next) pthread_mutex_lock(&b->mutex);
}
static void atfork_parent(void) {
    for (cprwlock_binding *b = registry_head; b != NULL; b = b->next) pthread_mutex_unlock(&b->mutex);
    pthread_mutex_unlock(&registry_mutex);
}
static void atfork_child(void) {
    for (cprwlock_binding *b = registry_head; b != NULL; b = b->next) {
        if (b->token_fd >= 0) close(b->token_fd);
        b->token_fd = -1;
        if (b->watcher != NULL) cprwlock_watcher_forget_in_child(b->watcher);
        __atomic_store_n(&b->slot, CPRWLOCK_NO_SLOT, __ATOMIC_SEQ_CST);
        pthread_mutex_init(&b->mutex, NULL);
    }
    pthread_mutex_init(&registry_mutex, NULL);
}
static void install_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

cprwlock_binding *cprwlock_binding_create(void) {
    pthread_once(&atfork_once, install_atfork);
    cprwlock_binding *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    b->slot = CPRWLOCK_NO_SLOT;
    b->token_fd = -1;
    pthread_mutex_init(&b->mutex, NULL);
    pthread_mutex_lock(&registry_mutex);
    b->next = registry_head;
    registry_head = b;
    pthread_mutex_unlock(&registry_mutex);
    return b;
}

void cprwlock_binding_destroy(cprwlock_binding *binding) {
    if (binding == NULL) return;
    pthread_mutex_lock(&registry_mutex);
    for (cprwlock_binding **p = &registry_head; *p != NULL; p = &(*p)->next) {
        if (*p == binding) { *p = binding->next; break; }
    }
    pthread_mutex_unlock(&registry_mutex);
    pthread_mutex_destroy(&binding->mutex);
    free(binding);
}

void cprwlock_binding_lock(cprwlock_binding *binding) { pthread_mutex_lock(&binding->mutex); }
void cprwlock_binding_unlock(cprwlock_binding *binding) { pthread_mutex_unlock(&binding->mutex); }

int cprwlock_binding_open_token(cprwlock_binding *binding, int segment_fd) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", segment_fd);
    int fd;
    do {
        fd = open(path, O_RDWR | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    if (binding->token_fd >= 0) close(binding->token_fd);
    binding->token_fd = fd;
    return fd;
}

int cprwlock_binding_close_token(cprwlock_binding *binding) {
    if (binding->token_fd >= 0) close(binding->token_fd);
    binding->token_fd = -1;
    return 0;
}


// MARK: - Running a command

#include <signal.h>
#include <sys/prctl.h>

int cprwlock_spawn(char *const argv[], int parent_death_signal) {
    pid_t parent = getpid();
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) return -errno;
    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(status_pipe[0]);
        close(status_pipe[1]);
        return -saved;
    }
    if (child == 0) {
        // Only async-signal-safe calls from here to exec.
        if (parent_death_signal > 0) {
            prctl(PR_SET_PDEATHSIG, parent_death_signal);
            if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        int saved = errno;
        (void)!write(status_pipe[1], &saved, sizeof saved);  // tell the parent why exec failed
        _exit(127);
    }
    close(status_pipe[1]);
    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(status_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(status_pipe[0]);
    if (n == (ssize_t)sizeof exec_errno) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return -exec_errno;
    }
    return child;
}

static volatile sig_atomic_t forward_pid = 0;

static void forward_signal(int signal_number) {
    pid_t pid = forward_pid;
    if (pid > 0) kill(pid, signal_number);
}

void cprwlock_forward_signals_to(pid_t pid) {
    forward_pid = pid;
    int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
    // A spawner may have started us with these blocked (threads of a dispatch pool block every
    // signal, and a spawned child inherits the mask): unblock them, or nothing is forwarded.
    sigset_t forwarded;
    sigemptyset(&forwarded);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaddset(&forwarded, signals[i]);
    pthread_sigmask(SIG_UNBLOCK, &forwarded, NULL);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = forward_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        sigaction(signals[i], &action, NULL);
    }
}

// MARK: - pthread_rwlock (benchmark comparison)

size_t cprwlock_pthread_rwlock_size(void) { return sizeof(pthread_rwlock_t); }

int cprwlock_pthread_rwlock_init(void *memory, int prefer_writer) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (prefer_writer) {
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    }
    int rc = pthread_rwlock_init((pthread_rwlock_t *)memory, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc;
}
int cprwlock_pthread_rdlock(void *memory) { return pthread_rwlock_rdlock((pthread_rwlock_t *)memory); }
int cprwlock_pthread_wrlock(void *memory) { return pthread_rwlock_wrlock((pthread_rwlock_t *)memory); }
int cprwlock_pthread_unlock(void *memory) { return pthread_rwlock_unlock((pthread_rwlock_t *)memory); }
int cprwlock_pthread_timedrdlock(void *memory, int64_t deadline_ns) {
    struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000LL), .tv_nsec = (long)(deadline_ns % 1000000000LL) };
    return pthread_rwlock_clockrdlock((pthread_rwlock_t *)memory, CLOCK_MONOTONIC, &ts);
}

int cprwlock_pthread_timedwrlock(void *memory, int64_t deadline_ns) {
    struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000LL), .tv_nsec = (long)(deadline_ns % 1000000000LL) };
    return pthread_rwlock_clockwrlock((pthread_rwlock_t *)memory, CLOCK_MONOTONIC, &ts);
}

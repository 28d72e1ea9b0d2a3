/* libprwlock's tests, in C against the installed header and library (c/test builds and runs
 * them). Several scenarios run real processes: forked C children, and the Swift test worker
 * (Sources/prwlock-test-worker, path in PRWLOCK_TEST_WORKER) for the cross-language ones.
 *
 *   test_prwlock [NAME...]     runs every test, or those named; the last line is
 *                              "N passed, N failed"
 */
#define _GNU_SOURCE
#include <prwlock.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- a small harness ---------------------------------------------------------------------- */

static int test_failed;

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  %s:%d: CHECK(%s) failed (last error: %s)\n", __FILE__, __LINE__, #cond, prwlock_last_error()); \
        test_failed = 1; \
    } \
} while (0)

#define CHECK_RC(call, want) do { \
    int rc_ = (call); \
    if (rc_ != (want)) { \
        fprintf(stderr, "  %s:%d: %s returned %d (%s), expected %d (%s); last error: %s\n", __FILE__, __LINE__, #call, \
                rc_, prwlock_strerror(rc_), (want), prwlock_strerror(want), prwlock_last_error()); \
        test_failed = 1; \
    } \
} while (0)

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void unique_name(char *out, size_t size, const char *what) {
    static int counter;
    snprintf(out, size, "ctest-%s-%d-%d", what, (int)getpid(), ++counter);
}

static void named_handle(char *out, size_t size, const char *name) {
    snprintf(out, size, "prwlock:named:600:%s", name);
}

/* ---- processes ---------------------------------------------------------------------------- */

/* A child process with its stdout on a pipe. */
typedef struct {
    pid_t pid;
    int out;
    char buffer[4096];
    size_t used;
} child_t;

static const char *worker_path(void) {
    const char *path = getenv("PRWLOCK_TEST_WORKER");
    return path && *path ? path : NULL;
}

/* Starts argv[0] with argv; returns 0 or -1. */
static int spawn(child_t *child, char *const argv[]) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    child->pid = pid;
    child->out = fds[0];
    child->used = 0;
    return 0;
}

/* Waits up to timeout_ms for a line starting with prefix; copies it to line. 0 or -1. */
static int read_line(child_t *child, const char *prefix, char *line, size_t size, int timeout_ms) {
    int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        char *newline;
        while ((newline = memchr(child->buffer, '\n', child->used)) != NULL) {
            size_t length = (size_t)(newline - child->buffer);
            int match = strncmp(child->buffer, prefix, strlen(prefix)) == 0;
            if (match && line) {
                size_t n = length < size - 1 ? length : size - 1;
                memcpy(line, child->buffer, n);
                line[n] = '\0';
            }
            memmove(child->buffer, newline + 1, child->used - length - 1);
            child->used -= length + 1;
            if (match) return 0;
        }
        int64_t left = (end - now_ns()) / 1000000;
        if (left <= 0 || child->used == sizeof child->buffer) return -1;
        struct pollfd p = {.fd = child->out, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t n = read(child->out, child->buffer + child->used, sizeof child->buffer - child->used);
        if (n <= 0) return -1;
        child->used += (size_t)n;
    }
}

/* Waits for the child to exit; returns its exit status, 128+N for a signal, -1 on timeout (then
 * it is killed). */
static int finish(child_t *child, int timeout_ms) {
    int64_t end = now_ns() + (int64_t)timeout_ms * 1000000;
    int status;
    for (;;) {
        pid_t done = waitpid(child->pid, &status, WNOHANG);
        if (done == child->pid) break;
        if (now_ns() > end) {
            kill(child->pid, SIGKILL);
            waitpid(child->pid, &status, 0);
            close(child->out);
            return -1;
        }
        usleep(2000);
    }
    close(child->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Forks a C child that runs body(arg) and exits with its result; the child gets a pipe to write
 * lines to the parent as its stdout. */
static int fork_child(child_t *child, int (*body)(void *), void *arg) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        setvbuf(stdout, NULL, _IONBF, 0);
        _exit(body(arg));
    }
    close(fds[1]);
    child->pid = pid;
    child->out = fds[0];
    child->used = 0;
    return 0;
}

/* ---- the shared record of the torn-read check (the Swift worker's layout) ------------------ */

enum { RECORD_WORDS = 16, READERS_INSIDE = 32, WRITERS_INSIDE = 33 };

static uint32_t *map_record(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

typedef struct {
    const char *name;
    const char *record_path;
    double seconds;
    int write_percent;
} hammer_args;

/* The C side of the hammer: random reads and writes on the named lock; a writer stamps the whole
 * record, a reader checks it is not torn, both count holders inside. Prints
 * "ops=N writes=N torn=N overlaps=N" and exits 0 when nothing was torn or overlapped. */
static int hammer(void *raw) {
    hammer_args *a = raw;
    prwlock_t *lock;
    if (prwlock_open(&lock, a->name, 0) != 0) { printf("open failed: %s\n", prwlock_last_error()); return 2; }
    uint32_t *record = map_record(a->record_path);
    if (!record) { printf("no record\n"); return 2; }
    unsigned seed = (unsigned)getpid();
    long ops = 0, writes = 0, torn = 0, overlaps = 0;
    printf("started\n");
    int64_t end = now_ns() + (int64_t)(a->seconds * 1e9);
    while (now_ns() < end) {
        int is_write = (int)(rand_r(&seed) % 100) < a->write_percent;
        int rc = is_write ? prwlock_acquire_write(lock, 30000000000LL) : prwlock_acquire_read(lock, 30000000000LL);
        if (rc != 0 && rc != EOWNERDEAD) { printf("acquire failed: %s\n", prwlock_last_error()); return 2; }
        if (is_write) {
            if (__atomic_fetch_add(&record[WRITERS_INSIDE], 1, __ATOMIC_SEQ_CST) != 0 ||
                __atomic_load_n(&record[READERS_INSIDE], __ATOMIC_SEQ_CST) != 0) overlaps++;
            uint32_t next = __atomic_load_n(&record[0], __ATOMIC_SEQ_CST) + 1;
            for (int i = 0; i < RECORD_WORDS; i++) __atomic_store_n(&record[i], next, __ATOMIC_SEQ_CST);
            __atomic_fetch_sub(&record[WRITERS_INSIDE], 1, __ATOMIC_SEQ_CST);
            writes++;
        } else {
            __atomic_fetch_add(&record[READERS_INSIDE], 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&record[WRITERS_INSIDE], __ATOMIC_SEQ_CST) != 0) overlaps++;
            uint32_t first = __atomic_load_n(&record[0], __ATOMIC_SEQ_CST);
            for (int i = 1; i < RECORD_WORDS; i++)
                if (__atomic_load_n(&record[i], __ATOMIC_SEQ_CST) != first && rc != EOWNERDEAD) { torn++; break; }
            __atomic_fetch_sub(&record[READERS_INSIDE], 1, __ATOMIC_SEQ_CST);
        }
        if (prwlock_release(lock) != 0) { printf("release failed: %s\n", prwlock_last_error()); return 2; }
        ops++;
    }
    printf("ops=%ld writes=%ld torn=%ld overlaps=%ld\n", ops, writes, torn, overlaps);
    prwlock_close(lock);
    return torn == 0 && overlaps == 0 ? 0 : 1;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_uncontended_codes(void) {
    prwlock_t *lock;
    CHECK_RC(prwlock_create(&lock), 0);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    CHECK_RC(prwlock_acquire_read(lock, 0), 0);          /* read holds add up */
    CHECK_RC(prwlock_acquire_write(lock, 0), ETIMEDOUT);  /* a try that finds readers */
    CHECK(strstr(prwlock_last_error(), "timed out") != NULL);
    CHECK_RC(prwlock_release_write(lock), EPERM);
    CHECK_RC(prwlock_release_read(lock), 0);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_release(lock), EPERM);              /* releasing twice */
    CHECK(strstr(prwlock_last_error(), "holds neither") != NULL);
    CHECK_RC(prwlock_release_read(lock), EPERM);
    CHECK_RC(prwlock_acquire_write(lock, 1000000), 0);
    CHECK_RC(prwlock_release_read(lock), EPERM);
    CHECK_RC(prwlock_release_write(lock), 0);
    CHECK_RC(prwlock_release_write(lock), EPERM);
    prwlock_close(lock);
}

static void test_status(void) {
    prwlock_t *lock;
    CHECK_RC(prwlock_create(&lock), 0);
    prwlock_status_t st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    CHECK_RC(prwlock_status(lock, &st), 0);
    CHECK(st.readers == 2 && st.writer_pid == 0 && st.attached == 1 && st.capacity == 128);
    CHECK(st.previous_writer_died == 0 && st.waiting_readers == 0 && st.waiting_writers == 0);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_acquire_write(lock, -1), 0);
    CHECK_RC(prwlock_status(lock, &st), 0);
    CHECK(st.readers == 0 && st.writer_pid == getpid() && st.writer_holds == 1 && st.size == sizeof st);
    CHECK_RC(prwlock_release(lock), 0);
    /* A caller built against a later header passes a larger struct: the tail is left alone. */
    struct { prwlock_status_t v1; int64_t later; } bigger;
    memset(&bigger, 0, sizeof bigger);
    bigger.v1.size = sizeof bigger;
    bigger.later = 42;
    CHECK_RC(prwlock_status(lock, &bigger.v1), 0);
    CHECK(bigger.later == 42 && bigger.v1.size == sizeof(prwlock_status_t));
    st.size = 8;
    CHECK_RC(prwlock_status(lock, &st), EINVAL);
    CHECK_RC(prwlock_status(lock, NULL), EINVAL);
    CHECK(prwlock_previous_writer_died(lock) == 0);
    prwlock_close(lock);
}

static void test_bad_input(void) {
    prwlock_t *lock = NULL;
    CHECK_RC(prwlock_create(NULL), EINVAL);
    CHECK_RC(prwlock_open(NULL, "x", PRWLOCK_CREATE), EINVAL);
    CHECK_RC(prwlock_open(&lock, NULL, PRWLOCK_CREATE), EINVAL);
    CHECK_RC(prwlock_open(&lock, "", PRWLOCK_CREATE), EINVAL);
    CHECK_RC(prwlock_open(&lock, "a/b", PRWLOCK_CREATE), EINVAL);
    CHECK(strstr(prwlock_last_error(), "a/b") != NULL);
    CHECK_RC(prwlock_open(&lock, "\xff\xfe", PRWLOCK_CREATE), EINVAL);
    char long_name[PRWLOCK_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK_RC(prwlock_open(&lock, long_name, PRWLOCK_CREATE), EINVAL);
    /* A name not NUL-terminated within the limit is never read past PRWLOCK_NAME_MAX + 1 bytes. */
    char *unterminated = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(unterminated != MAP_FAILED);
    munmap(unterminated + 4096, 4096);  /* a guard page right after the name */
    memset(unterminated + 4096 - (PRWLOCK_NAME_MAX + 1), 'u', PRWLOCK_NAME_MAX + 1);
    CHECK_RC(prwlock_open(&lock, unterminated + 4096 - (PRWLOCK_NAME_MAX + 1), PRWLOCK_CREATE), EINVAL);
    munmap(unterminated, 4096);
    CHECK_RC(prwlock_open(&lock, "fine", 0x40), EINVAL);
    CHECK(strstr(prwlock_last_error(), "PRWLOCK_CREATE") != NULL);
    CHECK_RC(prwlock_open_handle(&lock, NULL), EINVAL);
    CHECK_RC(prwlock_open_handle(&lock, "not a handle"), EINVAL);
    CHECK_RC(prwlock_open_handle(&lock, "prwlock:anonymous:1:2"), EINVAL);
    CHECK(lock == NULL);  /* untouched on failure */
    CHECK_RC(prwlock_remove(NULL), EINVAL);
    CHECK_RC(prwlock_remove("../etc"), EINVAL);
    CHECK_RC(prwlock_acquire_read(NULL, -1), EINVAL);
    CHECK_RC(prwlock_acquire_write(NULL, 0), EINVAL);
    CHECK_RC(prwlock_release(NULL), EINVAL);
    CHECK_RC(prwlock_release_read(NULL), EINVAL);
    CHECK_RC(prwlock_release_write(NULL), EINVAL);
    CHECK_RC(prwlock_handle(NULL, NULL, 0), EINVAL);
    prwlock_status_t st = {.size = sizeof st};
    CHECK_RC(prwlock_status(NULL, &st), EINVAL);
    CHECK(prwlock_previous_writer_died(NULL) == 0);

    prwlock_options_t options = {.size = sizeof options, .max_processes = 5000};
    CHECK_RC(prwlock_create_with(&lock, &options), EINVAL);
    CHECK(strstr(prwlock_last_error(), "maxProcesses") != NULL);
    options.max_processes = 0;
    options.mode = 01777;
    CHECK_RC(prwlock_open_with(&lock, "fine", PRWLOCK_CREATE, &options), EINVAL);
    options.size = 4;
    CHECK_RC(prwlock_create_with(&lock, &options), EINVAL);

    /* A buffer too small for the handle. */
    CHECK_RC(prwlock_create(&lock), 0);
    char small[8] = "xxxxxxx";
    CHECK_RC(prwlock_handle(lock, small, sizeof small), ERANGE);
    CHECK(small[0] == '\0');
    CHECK_RC(prwlock_handle(lock, NULL, 64), EINVAL);
    char full[PRWLOCK_HANDLE_MAX];
    CHECK_RC(prwlock_handle(lock, full, sizeof full), 0);
    CHECK(strncmp(full, "prwlock:anonymous:", 18) == 0);

    /* A closed lock. */
    CHECK_RC(prwlock_acquire_write(lock, -1), 0);
    prwlock_close(lock);
    CHECK_RC(prwlock_acquire_read(lock, -1), EBADF);
    CHECK_RC(prwlock_release(lock), EBADF);
    CHECK_RC(prwlock_handle(lock, full, sizeof full), EBADF);
    CHECK(prwlock_previous_writer_died(lock) == 0);
    prwlock_close(lock);  /* twice: harmless */

    /* Texts for every code, known or not. */
    int codes[] = {0, EOWNERDEAD, ETIMEDOUT, EDEADLK, EPERM, EINVAL, EBADF, ENOENT, EACCES, ENOSPC,
                   EAGAIN, ERANGE, PRWLOCK_ECORRUPT, 9999, -1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *text = prwlock_strerror(codes[i]);
        CHECK(text != NULL && *text != '\0');
    }
    CHECK(strcmp(prwlock_version(), PRWLOCK_VERSION) == 0);
}

/* Bad input must never end the process: the last error holds the sentence, on this thread. */
static void *other_thread_error(void *unused) {
    (void)unused;
    return (void *)prwlock_last_error();
}

static void test_last_error_is_per_thread(void) {
    prwlock_t *lock = NULL;
    CHECK_RC(prwlock_open(&lock, "a/b", 0), EINVAL);
    pthread_t thread;
    void *seen;
    pthread_create(&thread, NULL, other_thread_error, NULL);
    pthread_join(thread, &seen);
    CHECK(strcmp((const char *)seen, "no error") == 0);
    CHECK(strstr(prwlock_last_error(), "a/b") != NULL);
    CHECK_RC(prwlock_create(&lock), 0);  /* success leaves the last error alone */
    CHECK(strstr(prwlock_last_error(), "a/b") != NULL);
    prwlock_close(lock);
}

static void test_named_codes(void) {
    char name[64], path[128];
    unique_name(name, sizeof name, "codes");
    snprintf(path, sizeof path, "/dev/shm/prwlock.%s", name);
    prwlock_t *lock, *other;
    CHECK_RC(prwlock_open(&lock, name, 0), ENOENT);
    CHECK(strstr(prwlock_last_error(), name) != NULL);
    CHECK_RC(prwlock_remove(name), ENOENT);

    /* ENOSPC: a lock for one process, and a second prwlock_t is a second participant. */
    prwlock_options_t options = {.size = sizeof options, .max_processes = 1};
    CHECK_RC(prwlock_open_with(&lock, name, PRWLOCK_CREATE, &options), 0);
    CHECK_RC(prwlock_open(&other, name, 0), ENOSPC);
    CHECK(strstr(prwlock_last_error(), "slots") != NULL);
    prwlock_close(lock);
    CHECK_RC(prwlock_open(&other, name, 0), 0);  /* the slot is free again */
    prwlock_close(other);

    /* EACCES: the file grants write access to others that the opener did not ask for. */
    CHECK(chmod(path, 0666) == 0);
    CHECK_RC(prwlock_open(&lock, name, 0), EACCES);
    CHECK(strstr(prwlock_last_error(), "writable by group or others") != NULL);
    options.mode = 0666;
    options.max_processes = 0;
    CHECK_RC(prwlock_open_with(&lock, name, 0, &options), 0);  /* asked for: accepted */
    prwlock_close(lock);
    CHECK(chmod(path, 0600) == 0);

    /* PRWLOCK_ECORRUPT: the segment's header overwritten. */
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "garbage!", 8, 0) == 8);
    close(fd);
    CHECK_RC(prwlock_open(&lock, name, 0), PRWLOCK_ECORRUPT);
    CHECK(strstr(prwlock_last_error(), "not a valid lock") != NULL);
    CHECK_RC(prwlock_remove(name), 0);

    /* The name is the same lock for every opener; remove() unlinks the name only. */
    CHECK_RC(prwlock_open(&lock, name, PRWLOCK_CREATE), 0);
    CHECK_RC(prwlock_open(&other, name, 0), 0);
    CHECK_RC(prwlock_acquire_write(lock, -1), 0);
    CHECK_RC(prwlock_acquire_read(other, 0), ETIMEDOUT);
    CHECK_RC(prwlock_remove(name), 0);
    CHECK_RC(prwlock_acquire_read(other, 20000000), ETIMEDOUT);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_acquire_read(other, 0), 0);
    char handle[PRWLOCK_HANDLE_MAX], expected[PRWLOCK_HANDLE_MAX];
    CHECK_RC(prwlock_handle(lock, handle, sizeof handle), 0);
    named_handle(expected, sizeof expected, name);
    CHECK(strcmp(handle, expected) == 0);
    prwlock_close(lock);
    prwlock_close(other);  /* holding read: given up */
}

/* EAGAIN: 2^30 read holds in one process. Acquiring them would take minutes: the count in this
 * process's slot (slot 0, the only participant: offset 512 of the segment) is set to one below the
 * limit through the file, as the Swift test does. */
static void test_too_many_read_holds(void) {
    char name[64], path[128];
    unique_name(name, sizeof name, "eagain");
    snprintf(path, sizeof path, "/dev/shm/prwlock.%s", name);
    prwlock_t *lock;
    CHECK_RC(prwlock_open(&lock, name, PRWLOCK_CREATE), 0);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    uint32_t below = (1u << 30) - 1, zero = 0;
    CHECK(pwrite(fd, &below, 4, 512) == 4);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);           /* the 2^30-th hold */
    CHECK_RC(prwlock_acquire_read(lock, 1000000000), EAGAIN);
    CHECK(strstr(prwlock_last_error(), "read locks at once") != NULL);
    prwlock_status_t st = {.size = sizeof st};
    CHECK_RC(prwlock_status(lock, &st), 0);
    CHECK(st.readers == 1 << 30);                           /* the refused attempt left nothing */
    CHECK(pwrite(fd, &zero, 4, 512) == 4);
    close(fd);
    CHECK_RC(prwlock_acquire_write(lock, 1000000000), 0);
    CHECK_RC(prwlock_release(lock), 0);
    prwlock_close(lock);
    prwlock_remove(name);
}

/* Self-deadlock: a thread that holds the write lock and waits for the lock gets EDEADLK. */
typedef struct { prwlock_t *lock; int rc; } thread_try;

static void *write_from_other_thread(void *raw) {
    thread_try *t = raw;
    t->rc = prwlock_acquire_write(t->lock, 50000000);
    return NULL;
}

static void *release_from_other_thread(void *raw) {
    thread_try *t = raw;
    t->rc = prwlock_release_write(t->lock);
    return NULL;
}

static void test_edeadlk(void) {
    prwlock_t *lock;
    CHECK_RC(prwlock_create(&lock), 0);
    CHECK_RC(prwlock_acquire_write(lock, -1), 0);
    int64_t start = now_ns();
    CHECK_RC(prwlock_acquire_write(lock, -1), EDEADLK);
    CHECK(strstr(prwlock_last_error(), "would wait for itself") != NULL);
    CHECK_RC(prwlock_acquire_read(lock, -1), EDEADLK);
    CHECK_RC(prwlock_acquire_write(lock, 5000000000LL), EDEADLK);  /* at once, not after 5 s */
    CHECK(now_ns() - start < 2000000000LL);
    CHECK_RC(prwlock_acquire_write(lock, 0), ETIMEDOUT);           /* a try just fails */
    CHECK_RC(prwlock_acquire_read(lock, 0), ETIMEDOUT);
    /* Another thread of the process is not the holder: it waits (and here times out). */
    thread_try t = {.lock = lock};
    pthread_t thread;
    pthread_create(&thread, NULL, write_from_other_thread, &t);
    pthread_join(thread, NULL);
    CHECK(t.rc == ETIMEDOUT);
    /* Released on another thread: the record is cleared, this thread may wait again. */
    pthread_create(&thread, NULL, release_from_other_thread, &t);
    pthread_join(thread, NULL);
    CHECK(t.rc == 0);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK_RC(prwlock_release(lock), EPERM);
    prwlock_close(lock);
}

/* prwlock_close while holding the write lock gives it up as a death would. */
static void test_close_while_writing(void) {
    char name[64];
    unique_name(name, sizeof name, "close");
    prwlock_t *writer, *next;
    CHECK_RC(prwlock_open(&writer, name, PRWLOCK_CREATE), 0);
    CHECK_RC(prwlock_open(&next, name, 0), 0);
    CHECK_RC(prwlock_acquire_write(writer, -1), 0);
    prwlock_close(writer);
    CHECK(prwlock_previous_writer_died(next) == 1);
    CHECK_RC(prwlock_acquire_read(next, 0), EOWNERDEAD);  /* held, and told */
    CHECK(strstr(prwlock_last_error(), "repair") != NULL);
    CHECK_RC(prwlock_release(next), 0);
    CHECK_RC(prwlock_acquire_write(next, 0), EOWNERDEAD);
    CHECK_RC(prwlock_release(next), 0);                    /* a told writer's normal release */
    CHECK_RC(prwlock_acquire_write(next, 0), 0);           /* clears the notice */
    CHECK_RC(prwlock_release(next), 0);
    prwlock_close(next);
    prwlock_remove(name);
}

/* fork(): the child's copy attaches as a new participant, holds nothing, and is excluded. */
static int forked_child(void *raw) {
    prwlock_t *lock = raw;
    int bad = 0;
    if (prwlock_release(lock) != EPERM) bad |= 1;              /* holds are not inherited */
    if (prwlock_acquire_read(lock, 0) != ETIMEDOUT) bad |= 2;  /* the parent writes */
    if (prwlock_acquire_write(lock, 30000000) != ETIMEDOUT) bad |= 4;
    printf("waiting\n");
    int rc = prwlock_acquire_read(lock, 10000000000LL);        /* until the parent releases */
    if (rc != 0) bad |= 8;
    printf("child=%d\n", bad);
    prwlock_release(lock);
    prwlock_close(lock);  /* the child's copy detaches; the parent's stays */
    return bad;
}

static void test_fork(void) {
    prwlock_t *lock;
    CHECK_RC(prwlock_create(&lock), 0);
    CHECK_RC(prwlock_acquire_write(lock, -1), 0);
    child_t child;
    CHECK(fork_child(&child, forked_child, lock) == 0);
    char line[64];
    CHECK(read_line(&child, "waiting", line, sizeof line, 20000) == 0);
    usleep(20000);
    CHECK_RC(prwlock_release(lock), 0);
    CHECK(read_line(&child, "child=", line, sizeof line, 20000) == 0);
    CHECK(strcmp(line, "child=0") == 0);
    CHECK(finish(&child, 20000) == 0);
    prwlock_status_t st = {.size = sizeof st};
    CHECK_RC(prwlock_status(lock, &st), 0);
    CHECK(st.attached == 1);  /* the child detached from its own slot, not the parent's */
    CHECK_RC(prwlock_acquire_write(lock, 0), 0);
    CHECK_RC(prwlock_release(lock), 0);
    prwlock_close(lock);
}

/* The handle of an anonymous lock whose creator is gone: ENOENT, and a sentence. */
static int create_and_print_handle(void *unused) {
    (void)unused;
    prwlock_t *lock;
    if (prwlock_create(&lock) != 0) return 1;
    char handle[PRWLOCK_HANDLE_MAX];
    prwlock_handle(lock, handle, sizeof handle);
    printf("handle %s\n", handle);
    return 0;
}

static void test_handle_of_dead_creator(void) {
    child_t child;
    CHECK(fork_child(&child, create_and_print_handle, NULL) == 0);
    char line[PRWLOCK_HANDLE_MAX + 16];
    CHECK(read_line(&child, "handle ", line, sizeof line, 20000) == 0);
    CHECK(finish(&child, 20000) == 0);
    prwlock_t *lock = NULL;
    CHECK_RC(prwlock_open_handle(&lock, line + 7), ENOENT);
    CHECK(strstr(prwlock_last_error(), "creating process must still have the lock open") != NULL);
    CHECK(lock == NULL);
}

/* A spawned (not forked) child opens an anonymous lock from its handle text. */
static int open_from_handle(void *raw) {
    prwlock_t *lock;
    int rc = prwlock_open_handle(&lock, raw);
    if (rc != 0) { printf("open failed %d\n", rc); return 1; }
    rc = prwlock_acquire_write(lock, 0);
    printf("try=%d\n", rc);
    prwlock_close(lock);
    return 0;
}

static void test_open_handle_shares_the_lock(void) {
    prwlock_t *lock;
    CHECK_RC(prwlock_create(&lock), 0);
    char handle[PRWLOCK_HANDLE_MAX];
    CHECK_RC(prwlock_handle(lock, handle, sizeof handle), 0);
    CHECK_RC(prwlock_acquire_read(lock, -1), 0);
    child_t child;
    CHECK(fork_child(&child, open_from_handle, handle) == 0);
    char line[64];
    CHECK(read_line(&child, "try=", line, sizeof line, 20000) == 0);
    CHECK(strcmp(line, "try=110") == 0);  /* ETIMEDOUT: the parent's read hold excludes it */
    CHECK(finish(&child, 20000) == 0);
    CHECK_RC(prwlock_release(lock), 0);
    prwlock_close(lock);
}

/* A C write holder SIGKILLed: the Swift waiter and a C waiter take over and are told. */
static int hold_write_forever(void *raw) {
    prwlock_t *lock;
    if (prwlock_open(&lock, raw, 0) != 0) return 1;
    if (prwlock_acquire_write(lock, -1) != 0) return 1;
    printf("acquired\n");
    for (;;) pause();
}

static void test_c_writer_killed_swift_waiter_told(void) {
    const char *worker = worker_path();
    CHECK(worker != NULL);
    if (!worker) return;
    char name[64], handle[PRWLOCK_HANDLE_MAX], line[64];
    unique_name(name, sizeof name, "killc");
    named_handle(handle, sizeof handle, name);
    prwlock_t *lock;
    CHECK_RC(prwlock_open(&lock, name, PRWLOCK_CREATE), 0);
    child_t holder, swift;
    CHECK(fork_child(&holder, hold_write_forever, name) == 0);
    CHECK(read_line(&holder, "acquired", line, sizeof line, 20000) == 0);
    char *argv[] = {(char *)worker, "notice", handle, NULL};
    CHECK(spawn(&swift, argv) == 0);
    usleep(100000);  /* the Swift worker is waiting now (or soon) */
    kill(holder.pid, SIGKILL);
    CHECK(finish(&holder, 20000) == 128 + SIGKILL);
    CHECK(read_line(&swift, "died=", line, sizeof line, 20000) == 0);
    CHECK(strcmp(line, "died=true") == 0);
    CHECK(finish(&swift, 20000) == 0);
    /* The Swift writer was told and released normally: the notice is cleared. */
    CHECK_RC(prwlock_acquire_write(lock, 10000000000LL), 0);
    CHECK_RC(prwlock_release(lock), 0);
    prwlock_close(lock);
    prwlock_remove(name);
}

static void test_swift_writer_killed_c_waiter_told(void) {
    const char *worker = worker_path();
    CHECK(worker != NULL);
    if (!worker) return;
    char name[64], handle[PRWLOCK_HANDLE_MAX], line[64];
    unique_name(name, sizeof name, "kills");
    named_handle(handle, sizeof handle, name);
    prwlock_t *lock;
    CHECK_RC(prwlock_open(&lock, name, PRWLOCK_CREATE), 0);
    child_t swift;
    char *argv[] = {(char *)worker, "hold", handle, "write", "60", NULL};
    CHECK(spawn(&swift, argv) == 0);
    CHECK(read_line(&swift, "acquired", line, sizeof line, 30000) == 0);
    CHECK_RC(prwlock_acquire_read(lock, 0), ETIMEDOUT);
    kill(swift.pid, SIGKILL);
    CHECK(finish(&swift, 20000) == 128 + SIGKILL);
    int64_t start = now_ns();
    CHECK_RC(prwlock_acquire_write(lock, 10000000000LL), EOWNERDEAD);
    CHECK(now_ns() - start < 5000000000LL);
    CHECK(prwlock_previous_writer_died(lock) == 1);
    CHECK_RC(prwlock_release_write(lock), 0);
    CHECK(prwlock_previous_writer_died(lock) == 0);
    prwlock_close(lock);
    prwlock_remove(name);
}

/* C and Swift processes hammering one named lock: nothing torn, no two writers inside. */
static void test_c_and_swift_hammer(void) {
    const char *worker = worker_path();
    CHECK(worker != NULL);
    if (!worker) return;
    char name[64], handle[PRWLOCK_HANDLE_MAX], record_path[128], line[128];
    unique_name(name, sizeof name, "hammer");
    named_handle(handle, sizeof handle, name);
    snprintf(record_path, sizeof record_path, "/tmp/prwlock-c-record-%d", (int)getpid());
    int fd = open(record_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
    close(fd);
    prwlock_t *lock;
    CHECK_RC(prwlock_open(&lock, name, PRWLOCK_CREATE), 0);
    hammer_args args = {.name = name, .record_path = record_path, .seconds = 3, .write_percent = 20};
    child_t children[4];
    char *argv[] = {(char *)worker, "hammer", handle, record_path, "3", "20", NULL};
    CHECK(fork_child(&children[0], hammer, &args) == 0);
    CHECK(fork_child(&children[1], hammer, &args) == 0);
    CHECK(spawn(&children[2], argv) == 0);
    CHECK(spawn(&children[3], argv) == 0);
    for (int i = 0; i < 4; i++) {
        int got = read_line(&children[i], "ops=", line, sizeof line, 60000);
        CHECK(got == 0);
        if (got == 0) fprintf(stderr, "  %s %s\n", i < 2 ? "C    " : "Swift", line);
        CHECK(got != 0 || strstr(line, " torn=0 overlaps=0") != NULL);
        CHECK(finish(&children[i], 20000) == 0);
    }
    uint32_t *record = map_record(record_path);
    CHECK(record != NULL && record[0] > 0);  /* writers did write */
    prwlock_close(lock);
    prwlock_remove(name);
    unlink(record_path);
}

/* ---- main --------------------------------------------------------------------------------- */

typedef struct { const char *name; void (*run)(void); } test_case;

static const test_case tests[] = {
    {"uncontended_codes", test_uncontended_codes},
    {"status", test_status},
    {"bad_input", test_bad_input},
    {"last_error_is_per_thread", test_last_error_is_per_thread},
    {"named_codes", test_named_codes},
    {"too_many_read_holds", test_too_many_read_holds},
    {"edeadlk", test_edeadlk},
    {"close_while_writing", test_close_while_writing},
    {"fork", test_fork},
    {"handle_of_dead_creator", test_handle_of_dead_creator},
    {"open_handle_shares_the_lock", test_open_handle_shares_the_lock},
    {"c_writer_killed_swift_waiter_told", test_c_writer_killed_swift_waiter_told},
    {"swift_writer_killed_c_waiter_told", test_swift_writer_killed_c_waiter_told},
    {"c_and_swift_hammer", test_c_and_swift_hammer},
};

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        int selected = argc == 1;
        for (int a = 1; a < argc; a++) selected |= strcmp(argv[a], tests[i].name) == 0;
        if (!selected) continue;
        test_failed = 0;
        int64_t start = now_ns();
        tests[i].run();
        printf("%s %s (%.2f s)\n", test_failed ? "FAIL" : "ok  ", tests[i].name, (double)(now_ns() - start) / 1e9);
        if (test_failed) failed++; else passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

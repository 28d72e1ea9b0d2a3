// The death watcher: one thread per participant, started when one of its waits first outlasts a
// liveness check, sleeping in poll() on pidfds of the processes its waiters wait for. When one
// exits (pidfds become readable after the process has closed its files, so its liveness token is
// gone by then), it bumps `deaths` and wakes the lock's two futex words: the waiters check
// liveness at once instead of at their next timed check. It only ever wakes; every decision stays
// with the waiters' token checks, so a missed or spurious event costs time, never safety.

#include "CPRWLockShim.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define WATCH_MAX 64

struct cprwlock_watch_entry {
    uint32_t slot;
    int32_t pid;
    int pidfd;
    uint32_t refs;
    int exited;  // its pidfd fired: no longer polled (it would stay readable)
};

struct cprwlock_watcher {
    cprwlock_binding *binding;  // its mutex guards every field below but `deaths`
    uint32_t *wake_first, *wake_second;
    int event_fd;               // wakes the thread to re-read the table or stop; -1 until started
    int running;                // the thread exists (0 in a forked child)
    int stopping;
    pthread_cond_t stopped;
    int count;
    struct cprwlock_watch_entry entries[WATCH_MAX];
    uint32_t deaths;            // atomic
};

static void poke(cprwlock_watcher *w) {
    if (w->event_fd < 0) return;
    uint64_t one = 1;
    ssize_t ignored = write(w->event_fd, &one, sizeof one);
    (void)ignored;  // a full counter already wakes the thread
}

static void *watcher_main(void *arg) {
    cprwlock_watcher *w = arg;
    struct pollfd fds[1 + WATCH_MAX];
    pthread_mutex_lock(&w->binding->mutex);
    while (!w->stopping) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = w->event_fd, .events = POLLIN};
        for (int i = 0; i < w->count; i++) {
            if (!w->entries[i].exited) fds[n++] = (struct pollfd){.fd = w->entries[i].pidfd, .events = POLLIN};
        }
        pthread_mutex_unlock(&w->binding->mutex);
        int rc = poll(fds, (nfds_t)n, -1);
        pthread_mutex_lock(&w->binding->mutex);
        if (rc <= 0) continue;  // EINTR
        if (fds[0].revents & POLLIN) {
            uint64_t value;
            ssize_t ignored = read(w->event_fd, &value, sizeof value);
            (void)ignored;
        }
        int died = 0;
        for (int k = 1; k < n; k++) {
            if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            // The table may have changed while we polled: an entry still there under this fd is
            // the one polled (a closed fd is removed from the table before it is closed).
            for (int i = 0; i < w->count; i++) {
                if (w->entries[i].pidfd == fds[k].fd && !w->entries[i].exited) {
                    w->entries[i].exited = 1;
                    died = 1;
                }
            }
        }
        if (died) {
            __atomic_add_fetch(&w->deaths, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&w->binding->mutex);
            cprwlock_futex_wake_all(w->wake_first);
            cprwlock_futex_wake_all(w->wake_second);
            pthread_mutex_lock(&w->binding->mutex);
        }
    }
    w->running = 0;
    pthread_cond_broadcast(&w->stopped);
    pthread_mutex_unlock(&w->binding->mutex);
    return NULL;
}

cprwlock_watcher *cprwlock_watcher_create(cprwlock_binding *binding, uint32_t *wake_first, uint32_t *wake_second) {
    cprwlock_watcher *w = calloc(1, sizeof *w);
    if (w == NULL) return NULL;
    w->binding = binding;
    w->wake_first = wake_first;
    w->wake_second = wake_second;
    w->event_fd = -1;
    pthread_cond_init(&w->stopped, NULL);
    pthread_mutex_lock(&binding->mutex);
    binding->watcher = w;
    pthread_mutex_unlock(&binding->mutex);
    return w;
}

static void close_all(cprwlock_watcher *w) {
    for (int i = 0; i < w->count; i++) close(w->entries[i].pidfd);
    w->count = 0;
    if (w->event_fd >= 0) close(w->event_fd);
    w->event_fd = -1;
}

void cprwlock_watcher_destroy(cprwlock_watcher *w) {
    if (w == NULL) return;
    pthread_mutex_lock(&w->binding->mutex);
    w->stopping = 1;
    poke(w);
    while (w->running) pthread_cond_wait(&w->stopped, &w->binding->mutex);
    close_all(w);
    w->binding->watcher = NULL;
    pthread_mutex_unlock(&w->binding->mutex);
    pthread_cond_destroy(&w->stopped);
    free(w);
}

void cprwlock_watcher_forget_in_child(cprwlock_watcher *w) {
    // Only the forking thread exists in the child: no watcher thread, and every fd is a copy.
    close_all(w);
    w->running = 0;
    w->stopping = 0;
    pthread_cond_init(&w->stopped, NULL);
}

int cprwlock_watcher_watch(cprwlock_watcher *w, uint32_t slot, int32_t pid) {
    if (pid <= 0) return -EINVAL;
    for (int i = 0; i < w->count; i++) {
        if (w->entries[i].slot == slot && w->entries[i].pid == pid) {
            if (w->entries[i].exited) return -ESRCH;
            w->entries[i].refs++;
            return 0;
        }
    }
    if (w->count == WATCH_MAX) return -ENOSPC;
    if (!w->running) {
        if (w->event_fd < 0) {
            w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            if (w->event_fd < 0) return -errno;
        }
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 64 * 1024);
        pthread_t thread;
        int rc = pthread_create(&thread, &attributes, watcher_main, w);
        pthread_attr_destroy(&attributes);
        if (rc != 0) return -rc;
        w->running = 1;
    }
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0) return -errno;
    w->entries[w->count++] = (struct cprwlock_watch_entry){.slot = slot, .pid = pid, .pidfd = fd, .refs = 1};
    poke(w);
    return 0;
}

void cprwlock_watcher_unwatch(cprwlock_watcher *w, uint32_t slot, int32_t pid) {
    for (int i = 0; i < w->count; i++) {
        if (w->entries[i].slot != slot || w->entries[i].pid != pid) continue;
        if (--w->entries[i].refs > 0) return;
        int fd = w->entries[i].pidfd;
        w->entries[i] = w->entries[--w->count];
        poke(w);  // the thread re-reads the table before it could poll a reused fd number
        close(fd);
        return;
    }
}

uint32_t cprwlock_watcher_deaths(const cprwlock_watcher *w) {
    return __atomic_load_n(&w->deaths, __ATOMIC_SEQ_CST);
}

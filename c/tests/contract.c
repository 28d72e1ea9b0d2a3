/* The contract of issue 11, spelled exactly as the issue gives it, compiled against the installed
 * header and library and run: every call must return what the header says. */
#include <prwlock.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define EXPECT(rc, want) do { \
    int got_ = (rc); \
    if (got_ != (want)) { \
        fprintf(stderr, "contract.c:%d: %s returned %d (%s), expected %d: %s\n", __LINE__, #rc, got_, \
                prwlock_strerror(got_), (want), prwlock_last_error()); \
        failures++; \
    } \
} while (0)

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "contract-%d", (int)getpid());
    const char *handle_text;
    int64_t timeout_ns = 1000000000;

    /* ---- the spellings ---- */
    prwlock_t *lock = NULL;
    int rc = prwlock_create(&lock);                               // anonymous, like RWLock()
    EXPECT(rc, 0);
    prwlock_t *anonymous = lock;
    rc = prwlock_open(&lock, name, PRWLOCK_CREATE);               // named; 0 as flags: must exist (ENOENT)
    EXPECT(rc, 0);
    prwlock_t *named = lock;
    char buf[PRWLOCK_HANDLE_MAX];
    rc = prwlock_handle(anonymous, buf, sizeof buf);              // the handle text, NUL-terminated
    EXPECT(rc, 0);
    handle_text = buf;
    rc = prwlock_open_handle(&lock, handle_text);                 // a handle from another process
    EXPECT(rc, 0);
    prwlock_t *reopened = lock;
    lock = named;

    rc = prwlock_acquire_read(lock, timeout_ns);                  // timeout_ns < 0: wait forever; 0: try once
    EXPECT(rc, 0);
    rc = prwlock_release(lock);
    EXPECT(rc, 0);
    rc = prwlock_acquire_write(lock, timeout_ns);
    EXPECT(rc, 0);
    rc = prwlock_release(lock);                                   // the write hold, else one read hold
    EXPECT(rc, 0);
    rc = prwlock_acquire_read(lock, -1);
    EXPECT(rc, 0);
    rc = prwlock_release_read(lock);
    EXPECT(rc, 0);
    rc = prwlock_acquire_write(lock, 0);
    EXPECT(rc, 0);
    rc = prwlock_release_write(lock);
    EXPECT(rc, 0);
    rc = prwlock_release(lock);
    EXPECT(rc, EPERM);
    const char *text = prwlock_strerror(rc);                      // static text for any return code
    if (text == NULL || strlen(text) == 0) { fprintf(stderr, "empty strerror\n"); failures++; }
    prwlock_close(lock);                                          // NULL is accepted
    prwlock_close(NULL);
    prwlock_close(reopened);
    prwlock_close(anonymous);
    rc = prwlock_remove(name);
    EXPECT(rc, 0);
    rc = prwlock_open(&lock, name, 0);
    EXPECT(rc, ENOENT);

    printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
    return failures ? 1 : 0;
}

// libprwlock's error texts: prwlock_strerror's static table and the thread-local detailed message
// behind prwlock_last_error(). Everything else of the C interface is Swift (Sources/PRWLockC).
#include "prwlock.h"
#include "prwlock_support.h"

#include <string.h>

enum { LAST_ERROR_CAPACITY = 1024 };

static _Thread_local const char *last_error;
static _Thread_local char last_error_copy[LAST_ERROR_CAPACITY];

void cprwlockc_set_last_error(const char *message, int is_static) {
    if (is_static) {
        last_error = message;
        return;
    }
    size_t length = strnlen(message, LAST_ERROR_CAPACITY - 1);
    memcpy(last_error_copy, message, length);
    last_error_copy[length] = '\0';
    last_error = last_error_copy;
}

const char *prwlock_last_error(void) {
    return last_error ? last_error : "no error";
}

const char *prwlock_strerror(int code) {
    switch (code) {
    case 0: return "success";
    case EOWNERDEAD: return "acquired, but a writer died holding the lock: repair the protected data";
    case ETIMEDOUT: return "the lock was not acquired in time";
    case EDEADLK: return "this thread holds the write lock and would wait for itself";
    case EPERM: return "released a hold that is not held";
    case EINVAL: return "invalid argument";
    case EBADF: return "the lock was closed";
    case ENOENT: return "no such lock";
    case EACCES: return "the lock's file may not be used by this user";
    case ENOSPC: return "every process slot of the lock is taken";
    case EAGAIN: return "too many read holds in this process";
    case ERANGE: return "the buffer is too small";
    case ENOMEM: return "out of memory";
    case EMFILE: return "too many open files in this process";
    case ENFILE: return "too many open files in the system";
    case ECANCELED: return "the wait was cancelled";
    case EIO: return "input/output error";
    case PRWLOCK_ECORRUPT: return "the lock's shared memory is not a valid lock";
    default: return code < 0 ? "invalid return code" : "system error (see prwlock_last_error)";
    }
}

const char *prwlock_version(void) {
    return PRWLOCK_VERSION;
}

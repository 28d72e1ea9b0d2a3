// What libprwlock's Swift layer (PRWLockC) needs from C: the thread-local last error. Not
// installed, not exported (the library's version script exports prwlock_* only).
#ifndef PRWLOCK_SUPPORT_H
#define PRWLOCK_SUPPORT_H

/// Makes `message` this thread's prwlock_last_error(). A static message (one that lives as long
/// as the library) is kept by pointer; any other is copied (and cut at 1 KiB).
void cprwlockc_set_last_error(const char *message, int is_static);

#endif

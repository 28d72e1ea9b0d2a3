/*
 * _native.c — the compiled part of swift_prwlock: a CPython extension type over libprwlock.
 *
 * Everything on the per-call path lives here so that an uncontended acquire + release costs two
 * C method calls and nothing else: argument parsing, the non-blocking first try (with the GIL
 * held), the blocking wait (with the GIL released), the mapping of return codes to Python values
 * and exceptions, and the `with` context managers.
 *
 * Return codes (see prwlock.h): 0 and EOWNERDEAD mean held; ETIMEDOUT means not had in time (the
 * acquire methods return False; the context managers raise LockTimeoutError, a ValueError as in
 * prwlock); EPERM on a release and EINVAL are ValueError; PRWLOCK_ECORRUPT is LockCorruptError;
 * every other code is OSError(code, prwlock_last_error()), which Python turns into its subclass
 * (FileNotFoundError for ENOENT, PermissionError for EACCES, ...).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <prwlock.h>

/* ---- Module state (single-phase init: one interpreter) ------------------------------------ */

static PyObject *LockTimeoutError;   /* ValueError + TimeoutError */
static PyObject *LockCorruptError;   /* OSError */
static PyObject *str_timeout;        /* interned "timeout" */

/* ---- Errors ---------------------------------------------------------------------------------- */

/* Raises the exception for a failed libprwlock call. Must run on the thread that made the call,
 * before any other prwlock call on it (prwlock_last_error() is thread-local). */
static PyObject *
raise_rc(int rc)
{
    const char *message = prwlock_last_error();
    if (message == NULL || message[0] == '\0') {
        message = prwlock_strerror(rc);
    }
    if (rc == EINVAL || rc == EPERM) {
        PyErr_SetString(PyExc_ValueError, message);
        return NULL;
    }
    if (rc == PRWLOCK_ECORRUPT) {
        PyObject *exc = PyObject_CallFunction(LockCorruptError, "is", rc, message);
        if (exc != NULL) {
            PyErr_SetObject(LockCorruptError, exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    /* OSError(code, message) becomes the matching subclass (FileNotFoundError, ...). */
    PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", rc, message);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* ---- Timeouts -------------------------------------------------------------------------------- */

/* Converts a timeout in seconds (None, int or float, or anything with __float__/__index__) to
 * nanoseconds for libprwlock: None and +inf are -1 (wait as long as it takes). Raises TypeError
 * for other types (bool included: True is not a number of seconds) and ValueError for negative
 * or NaN values. Returns 0 on success, -1 with an exception set. */
static int
timeout_to_ns(PyObject *timeout, int64_t *ns)
{
    if (timeout == NULL || timeout == Py_None) {
        *ns = -1;
        return 0;
    }
    if (PyBool_Check(timeout)) {
        PyErr_SetString(PyExc_TypeError, "timeout must be a number of seconds or None, not bool");
        return -1;
    }
    double seconds;
    if (PyFloat_CheckExact(timeout)) {
        seconds = PyFloat_AS_DOUBLE(timeout);
    } else if (PyLong_Check(timeout)) {
        int overflow = 0;
        long long whole = PyLong_AsLongLongAndOverflow(timeout, &overflow);
        if (whole == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (overflow < 0 || (overflow == 0 && whole < 0)) {
            PyErr_SetString(PyExc_ValueError, "timeout must not be negative");
            return -1;
        }
        if (overflow > 0 || whole > INT64_MAX / 1000000000LL) {
            *ns = INT64_MAX;
            return 0;
        }
        *ns = (int64_t)whole * 1000000000LL;
        return 0;
    } else {
        PyNumberMethods *number = Py_TYPE(timeout)->tp_as_number;
        if (!PyFloat_Check(timeout) && (number == NULL || (number->nb_float == NULL && number->nb_index == NULL))) {
            PyErr_Format(PyExc_TypeError, "timeout must be a number of seconds or None, not %.100s",
                         Py_TYPE(timeout)->tp_name);
            return -1;
        }
        seconds = PyFloat_AsDouble(timeout);
        if (seconds == -1.0 && PyErr_Occurred()) {
            return -1;
        }
    }
    if (isnan(seconds)) {
        PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
        return -1;
    }
    if (seconds < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout must not be negative");
        return -1;
    }
    if (isinf(seconds)) {
        *ns = -1;
        return 0;
    }
    double nanoseconds = seconds * 1e9;
    if (nanoseconds >= 9.2e18) {
        *ns = INT64_MAX;
    } else {
        *ns = (int64_t)nanoseconds;
        if (*ns == 0 && seconds > 0) {
            *ns = 1; /* a positive timeout waits, however briefly */
        }
    }
    return 0;
}

/* Parses `(timeout=None)` from a vectorcall. Returns 0 or -1 with an exception set. */
static int
parse_timeout_args(const char *function, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                   int64_t *ns)
{
    PyObject *timeout = NULL;
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument (%zd given)", function, nargs);
        return -1;
    }
    if (nargs == 1) {
        timeout = args[0];
    }
    if (kwnames != NULL) {
        Py_ssize_t count = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, i);
            int is_timeout = key == str_timeout || PyUnicode_Compare(key, str_timeout) == 0;
            if (!is_timeout) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", function, key);
                return -1;
            }
            if (timeout != NULL) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument 'timeout'", function);
                return -1;
            }
            timeout = args[nargs + i];
        }
    }
    return timeout_to_ns(timeout, ns);
}

/* ---- The lock -------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    prwlock_t *lock;          /* NULL before opening; kept (closed) after close() */
    int closed;
    int waiting;              /* calls in this process inside libprwlock with the GIL released */
    pid_t waiting_pid;        /* the process `waiting` counts for (a forked child starts at 0) */
    PyObject *handle;         /* str, or NULL */
    PyObject *weakreflist;
} LockObject;

static PyTypeObject LockType;
static PyTypeObject HoldType;

static int
check_open(LockObject *self)
{
    if (self->lock == NULL) {
        PyErr_SetString(PyExc_ValueError, "the lock is not open (RWLock.__init__ was not called)");
        return -1;
    }
    return 0;
}

static PyObject *
Lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    LockObject *self = (LockObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->lock = NULL;
        self->closed = 0;
        self->waiting = 0;
        self->waiting_pid = 0;
        self->handle = NULL;
        self->weakreflist = NULL;
    }
    return (PyObject *)self;
}

static void
Lock_dealloc(LockObject *self)
{
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    if (self->lock != NULL && !self->closed) {
        prwlock_close(self->lock);
    }
    self->lock = NULL;
    Py_CLEAR(self->handle);
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free((PyObject *)self);
}

/* Stores an opened prwlock_t and its handle text. */
static PyObject *
adopt(LockObject *self, prwlock_t *lock)
{
    char buffer[PRWLOCK_HANDLE_MAX];
    int rc = prwlock_handle(lock, buffer, sizeof buffer);
    if (rc != 0) {
        raise_rc(rc);
        prwlock_close(lock);
        return NULL;
    }
    PyObject *handle = PyUnicode_DecodeUTF8(buffer, (Py_ssize_t)strlen(buffer), "surrogateescape");
    if (handle == NULL) {
        prwlock_close(lock);
        return NULL;
    }
    self->lock = lock;
    self->closed = 0;
    self->handle = handle;
    Py_RETURN_NONE;
}

static int
check_unopened(LockObject *self)
{
    if (self->lock != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the lock is already open");
        return -1;
    }
    return 0;
}

static PyObject *
Lock_create(LockObject *self, PyObject *unused)
{
    if (check_unopened(self) < 0) {
        return NULL;
    }
    prwlock_t *lock = NULL;
    int rc = prwlock_create(&lock);
    if (rc != 0) {
        return raise_rc(rc);
    }
    return adopt(self, lock);
}

static PyObject *
Lock_open(LockObject *self, PyObject *args)
{
    const char *name;
    int create;
    if (!PyArg_ParseTuple(args, "sp:_open", &name, &create)) {
        return NULL;
    }
    if (check_unopened(self) < 0) {
        return NULL;
    }
    prwlock_t *lock = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = prwlock_open(&lock, name, create ? PRWLOCK_CREATE : 0);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        return raise_rc(rc);
    }
    return adopt(self, lock);
}

static PyObject *
Lock_open_handle(LockObject *self, PyObject *args)
{
    const char *text;
    if (!PyArg_ParseTuple(args, "s:_open_handle", &text)) {
        return NULL;
    }
    if (check_unopened(self) < 0) {
        return NULL;
    }
    prwlock_t *lock = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = prwlock_open_handle(&lock, text);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        return raise_rc(rc);
    }
    return adopt(self, lock);
}

/* How long one wait with the GIL released lasts at most: between two, signal handlers run (Ctrl-C
 * raises KeyboardInterrupt in a waiting main thread, as threading.Lock.acquire does). A writer
 * that waits again after a slice queues again at once; readers that came in between go first. */
#define WAIT_SLICE_NS 100000000LL

/* The return of acquire() when a signal handler raised: the exception is set, nothing is held. */
#define ACQUIRE_RAISED (-1)

static int64_t
monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static PyObject *main_thread_function; /* threading.main_thread */

/* 1 on the main thread (the one Python runs signal handlers on), 0 elsewhere, -1 with an
 * exception set. Asked of threading each time: right after fork() too. Only waits ask. */
static int
is_main_thread(void)
{
    if (main_thread_function == NULL) {
        PyObject *threading = PyImport_ImportModule("threading");
        if (threading == NULL) {
            return -1;
        }
        main_thread_function = PyObject_GetAttrString(threading, "main_thread");
        Py_DECREF(threading);
        if (main_thread_function == NULL) {
            return -1;
        }
    }
    PyObject *main_thread = PyObject_CallNoArgs(main_thread_function);
    if (main_thread == NULL) {
        return -1;
    }
    PyObject *ident = PyObject_GetAttrString(main_thread, "ident");
    Py_DECREF(main_thread);
    if (ident == NULL) {
        return -1;
    }
    unsigned long main_ident = PyLong_AsUnsignedLong(ident);
    Py_DECREF(ident);
    if (main_ident == (unsigned long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 1; /* no ident yet: slice, to be safe */
    }
    return main_ident == PyThread_get_thread_ident();
}

/* The wait after a failed try, with the GIL released: on the main thread in slices of at most
 * WAIT_SLICE_NS with signal handlers run between them, elsewhere in one piece; until the lock is
 * had, the deadline passes, or an error. */
static int
wait_for_lock(LockObject *self, int write, int64_t timeout_ns)
{
    pid_t pid = getpid();
    if (self->waiting_pid != pid) {
        self->waiting_pid = pid;
        self->waiting = 0;
    }
    int64_t deadline = -1;
    if (timeout_ns > 0) {
        int64_t now = monotonic_ns();
        deadline = timeout_ns > INT64_MAX - now ? -1 : now + timeout_ns;
    }
    /* Only the main thread runs signal handlers: other threads wait in one piece. */
    int sliced = is_main_thread();
    if (sliced < 0) {
        return ACQUIRE_RAISED;
    }
    prwlock_t *lock = self->lock;
    int rc;
    self->waiting++;
    for (;;) {
        int64_t slice = sliced ? WAIT_SLICE_NS : (timeout_ns < 0 ? -1 : timeout_ns);
        if (deadline >= 0) {
            int64_t left = deadline - monotonic_ns();
            if (left <= 0) {
                rc = ETIMEDOUT;
                break;
            }
            if (slice < 0 || left < slice) {
                slice = left;
            }
        }
        Py_BEGIN_ALLOW_THREADS
        rc = write ? prwlock_acquire_write(lock, slice) : prwlock_acquire_read(lock, slice);
        Py_END_ALLOW_THREADS
        if (rc != ETIMEDOUT) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            rc = ACQUIRE_RAISED;
            break;
        }
    }
    self->waiting--;
    return rc;
}

/* The acquire path: a non-blocking try with the GIL held (an uncontended acquire costs no more),
 * then, only if the lock is busy and the caller will wait, the wait with the GIL released.
 * Returns libprwlock's code, or ACQUIRE_RAISED with an exception set. */
static inline int
acquire(LockObject *self, int write, int64_t timeout_ns)
{
    int rc = write ? prwlock_acquire_write(self->lock, 0) : prwlock_acquire_read(self->lock, 0);
    if (rc == ETIMEDOUT && timeout_ns != 0) {
        rc = wait_for_lock(self, write, timeout_ns);
    }
    return rc;
}

/* An acquire's code as the acquire methods return it: True when held, False when not in time. */
static inline PyObject *
bool_result(int rc)
{
    if (rc == ACQUIRE_RAISED) {
        return NULL;
    }
    if (rc == 0 || rc == EOWNERDEAD) {
        Py_RETURN_TRUE;
    }
    if (rc == ETIMEDOUT) {
        Py_RETURN_FALSE;
    }
    return raise_rc(rc);
}

static PyObject *
acquire_method(LockObject *self, int write, const char *name, PyObject *const *args, Py_ssize_t nargs,
               PyObject *kwnames)
{
    int64_t timeout_ns = -1;
    if (nargs != 0 || kwnames != NULL) {
        if (parse_timeout_args(name, args, nargs, kwnames, &timeout_ns) < 0) {
            return NULL;
        }
    }
    if (self->lock == NULL && check_open(self) < 0) {
        return NULL;
    }
    return bool_result(acquire(self, write, timeout_ns));
}

/* _acquire_code(write, timeout_ns) -> 0, EOWNERDEAD or ETIMEDOUT; raises for every other code.
 * For the asyncio waiter threads, which report EOWNERDEAD per acquisition. */
static PyObject *
Lock_acquire_code(LockObject *self, PyObject *args)
{
    int write;
    long long timeout_ns;
    if (!PyArg_ParseTuple(args, "pL:_acquire_code", &write, &timeout_ns)) {
        return NULL;
    }
    if (check_open(self) < 0) {
        return NULL;
    }
    int rc = acquire(self, write, (int64_t)timeout_ns);
    if (rc == ACQUIRE_RAISED) {
        return NULL;
    }
    if (rc == 0 || rc == EOWNERDEAD || rc == ETIMEDOUT) {
        return PyLong_FromLong(rc);
    }
    return raise_rc(rc);
}

static PyObject *
Lock_acquire_read(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return acquire_method(self, 0, "acquire_read", args, nargs, kwnames);
}

static PyObject *
Lock_acquire_write(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return acquire_method(self, 1, "acquire_write", args, nargs, kwnames);
}

static PyObject *
try_method(LockObject *self, int write)
{
    if (self->lock == NULL && check_open(self) < 0) {
        return NULL;
    }
    return bool_result(write ? prwlock_acquire_write(self->lock, 0) : prwlock_acquire_read(self->lock, 0));
}

static PyObject *
Lock_try_acquire_read(LockObject *self, PyObject *unused)
{
    return try_method(self, 0);
}

static PyObject *
Lock_try_acquire_write(LockObject *self, PyObject *unused)
{
    return try_method(self, 1);
}

/* kind: 0 release (write if held, else read), 1 read, 2 write. */
static PyObject *
release_method(LockObject *self, int kind)
{
    if (self->lock == NULL && check_open(self) < 0) {
        return NULL;
    }
    int rc = kind == 0 ? prwlock_release(self->lock)
           : kind == 1 ? prwlock_release_read(self->lock)
                       : prwlock_release_write(self->lock);
    if (rc != 0) {
        return raise_rc(rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
Lock_release(LockObject *self, PyObject *unused)
{
    return release_method(self, 0);
}

static PyObject *
Lock_release_read(LockObject *self, PyObject *unused)
{
    return release_method(self, 1);
}

static PyObject *
Lock_release_write(LockObject *self, PyObject *unused)
{
    return release_method(self, 2);
}

static PyObject *
Lock_status_tuple(LockObject *self, PyObject *unused)
{
    if (check_open(self) < 0) {
        return NULL;
    }
    prwlock_status_t status;
    memset(&status, 0, sizeof status);
    status.size = sizeof status;
    int rc = prwlock_status(self->lock, &status);
    if (rc != 0) {
        return raise_rc(rc);
    }
    return Py_BuildValue("(LiOiLLOii)", (long long)status.readers, (int)status.writer_pid,
                         status.writer_holds ? Py_True : Py_False, (int)status.upgrader_pid,
                         (long long)status.waiting_readers, (long long)status.waiting_writers,
                         status.previous_writer_died ? Py_True : Py_False, (int)status.attached,
                         (int)status.capacity);
}

static PyObject *
Lock_close(LockObject *self, PyObject *unused)
{
    if (self->lock == NULL || self->closed) {
        Py_RETURN_NONE;
    }
    if (self->waiting > 0 && self->waiting_pid == getpid()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot close the lock while another thread of this process waits for it");
        return NULL;
    }
    prwlock_close(self->lock);
    self->closed = 1;
    Py_RETURN_NONE;
}

static PyObject *
Lock_get_handle(LockObject *self, void *closure)
{
    if (check_open(self) < 0) {
        return NULL;
    }
    if (self->closed) {
        PyErr_SetString(PyExc_ValueError, "the lock is closed");
        return NULL;
    }
    Py_INCREF(self->handle);
    return self->handle;
}

static PyObject *
Lock_get_closed(LockObject *self, void *closure)
{
    return PyBool_FromLong(self->lock == NULL || self->closed);
}

static PyObject *
Lock_get_previous_writer_died(LockObject *self, void *closure)
{
    if (check_open(self) < 0) {
        return NULL;
    }
    return PyBool_FromLong(prwlock_previous_writer_died(self->lock));
}

/* ---- Context managers: lock.reader_lock(timeout) / lock.writer_lock(timeout) ---------------- */

/* A `with` statement looks up __enter__ and __exit__ on the type and calls them. Bound methods would
 * cost an allocation each; instead both attributes are getters that return the hold itself, which
 * is callable: called with no argument it enters, with three it exits. `with` cannot tell the
 * difference, and an uncontended `with lock.reader_lock():` costs about what the two bare calls
 * cost. Holds are recycled through a small free list. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    LockObject *owner;
    int64_t timeout_ns;
    char write;
    char held;
    char previous_writer_died;
} HoldObject;

#define HOLD_FREE_MAX 16
static HoldObject *hold_free_list[HOLD_FREE_MAX];
static int hold_free_count;

static PyObject *Hold_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames);

static PyObject *
make_hold(LockObject *self, int write, const char *name, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    int64_t timeout_ns = -1;
    if (nargs != 0 || kwnames != NULL) {
        if (parse_timeout_args(name, args, nargs, kwnames, &timeout_ns) < 0) {
            return NULL;
        }
    }
    HoldObject *hold;
    if (hold_free_count > 0) {
        hold = hold_free_list[--hold_free_count];
        PyObject_Init((PyObject *)hold, &HoldType);
    } else {
        hold = PyObject_New(HoldObject, &HoldType);
        if (hold == NULL) {
            return NULL;
        }
    }
    hold->vectorcall = Hold_vectorcall;
    Py_INCREF(self);
    hold->owner = self;
    hold->timeout_ns = timeout_ns;
    hold->write = (char)write;
    hold->held = 0;
    hold->previous_writer_died = 0;
    return (PyObject *)hold;
}

static PyObject *
Lock_reader_lock(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return make_hold(self, 0, "reader_lock", args, nargs, kwnames);
}

static PyObject *
Lock_writer_lock(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return make_hold(self, 1, "writer_lock", args, nargs, kwnames);
}

static void
Hold_dealloc(HoldObject *self)
{
    Py_CLEAR(self->owner);
    if (hold_free_count < HOLD_FREE_MAX && Py_TYPE(self) == &HoldType) {
        hold_free_list[hold_free_count++] = self;
        return;
    }
    PyObject_Del(self);
}

static PyObject *
Hold_enter(HoldObject *self, PyObject *unused)
{
    LockObject *owner = self->owner;
    if (owner == NULL || (owner->lock == NULL && check_open(owner) < 0)) {
        if (owner == NULL) {
            PyErr_SetString(PyExc_ValueError, "the lock is gone");
        }
        return NULL;
    }
    if (self->held) {
        PyErr_SetString(PyExc_RuntimeError, "this context manager is already entered; call reader_lock()/writer_lock() again for another hold");
        return NULL;
    }
    int rc = acquire(owner, self->write, self->timeout_ns);
    if (rc == ACQUIRE_RAISED) {
        return NULL;
    }
    if (rc == 0 || rc == EOWNERDEAD) {
        self->held = 1;
        self->previous_writer_died = rc == EOWNERDEAD;
        Py_INCREF(self);
        return (PyObject *)self;
    }
    if (rc == ETIMEDOUT) {
        PyErr_SetString(LockTimeoutError, "Unable to acquire lock in context manager: timed out");
        return NULL;
    }
    return raise_rc(rc);
}

static PyObject *
Hold_exit(HoldObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (self->held) {
        self->held = 0;
        int rc = self->write ? prwlock_release_write(self->owner->lock) : prwlock_release_read(self->owner->lock);
        if (rc != 0) {
            return raise_rc(rc);
        }
    }
    Py_RETURN_FALSE;
}

static PyObject *
Hold_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames == NULL || PyTuple_GET_SIZE(kwnames) == 0) {
        if (nargs == 0) {
            return Hold_enter((HoldObject *)callable, NULL);
        }
        if (nargs == 3) {
            return Hold_exit((HoldObject *)callable, args, nargs);
        }
    }
    PyErr_SetString(PyExc_TypeError, "a hold is entered with __enter__() and left with __exit__(type, value, traceback)");
    return NULL;
}

static PyObject *
Hold_get_self(PyObject *self, void *closure)
{
    Py_INCREF(self);
    return self;
}

static PyObject *
Hold_repr(HoldObject *self)
{
    return PyUnicode_FromFormat("<swift_prwlock %s hold, %s%s>", self->write ? "write" : "read",
                                self->held ? "held" : "not held",
                                self->previous_writer_died ? ", previous writer died" : "");
}

static PyMemberDef Hold_members[] = {
    {"previous_writer_died", T_BOOL, offsetof(HoldObject, previous_writer_died), READONLY,
     "True when this acquisition was told that a writer died holding the lock (EOWNERDEAD)."},
    {"held", T_BOOL, offsetof(HoldObject, held), READONLY, "True between a successful __enter__ and __exit__."},
    {"write", T_BOOL, offsetof(HoldObject, write), READONLY, "True for a writer_lock(), False for a reader_lock()."},
    {NULL},
};

static PyObject *
Hold_get_lock(HoldObject *self, void *closure)
{
    if (self->owner == NULL) {
        Py_RETURN_NONE;
    }
    Py_INCREF(self->owner);
    return (PyObject *)self->owner;
}

static PyGetSetDef Hold_getset[] = {
    {"lock", (getter)Hold_get_lock, NULL, "The RWLock this hold is on.", NULL},
    {"__enter__", (getter)Hold_get_self, NULL,
     "The hold itself: calling it with no argument acquires the lock (LockTimeoutError, a ValueError, when not had "
     "in time) and returns the hold.", NULL},
    {"__exit__", (getter)Hold_get_self, NULL,
     "The hold itself: calling it with (type, value, traceback) releases the hold __enter__ acquired.", NULL},
    {NULL},
};

static PyTypeObject HoldType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "swift_prwlock.Hold",
    .tp_doc = "A context manager returned by RWLock.reader_lock() and RWLock.writer_lock().",
    .tp_basicsize = sizeof(HoldObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_dealloc = (destructor)Hold_dealloc,
    .tp_repr = (reprfunc)Hold_repr,
    .tp_vectorcall_offset = offsetof(HoldObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_members = Hold_members,
    .tp_getset = Hold_getset,
};

/* ---- The lock type's tables ----------------------------------------------------------------- */

#define FASTCALL_KW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef Lock_methods[] = {
    {"acquire_read", FASTCALL_KW(Lock_acquire_read),
     "acquire_read(timeout=None) -> bool\n\nAcquires a read hold, waiting at most `timeout` seconds (None: as long as it "
     "takes). True when had, False when the timeout passed."},
    {"acquire_write", FASTCALL_KW(Lock_acquire_write),
     "acquire_write(timeout=None) -> bool\n\nAcquires the write hold, waiting at most `timeout` seconds (None: as long "
     "as it takes). True when had, False when the timeout passed. OSError(EDEADLK) when this thread already holds "
     "the write lock."},
    {"try_acquire_read", (PyCFunction)Lock_try_acquire_read, METH_NOARGS,
     "try_acquire_read() -> bool\n\nAcquires a read hold if that is possible at once."},
    {"try_acquire_write", (PyCFunction)Lock_try_acquire_write, METH_NOARGS,
     "try_acquire_write() -> bool\n\nAcquires the write hold if that is possible at once."},
    {"release", (PyCFunction)Lock_release, METH_NOARGS,
     "release()\n\nReleases this lock object's write hold if it has one, else one of its read holds. ValueError "
     "when it holds nothing."},
    {"release_read", (PyCFunction)Lock_release_read, METH_NOARGS,
     "release_read()\n\nReleases one read hold. ValueError when there is none."},
    {"release_write", (PyCFunction)Lock_release_write, METH_NOARGS,
     "release_write()\n\nReleases the write hold. ValueError when there is none."},
    {"reader_lock", FASTCALL_KW(Lock_reader_lock),
     "reader_lock(timeout=None)\n\nA context manager that holds a read lock inside the `with` block; raises "
     "LockTimeoutError (a ValueError) when the lock is not had in time."},
    {"writer_lock", FASTCALL_KW(Lock_writer_lock),
     "writer_lock(timeout=None)\n\nA context manager that holds the write lock inside the `with` block; raises "
     "LockTimeoutError (a ValueError) when the lock is not had in time."},
    {"close", (PyCFunction)Lock_close, METH_NOARGS,
     "close()\n\nCloses this lock object. Holds still open are given up as a death would give them up."},
    {"_create", (PyCFunction)Lock_create, METH_NOARGS, NULL},
    {"_open", (PyCFunction)Lock_open, METH_VARARGS, NULL},
    {"_open_handle", (PyCFunction)Lock_open_handle, METH_VARARGS, NULL},
    {"_status_tuple", (PyCFunction)Lock_status_tuple, METH_NOARGS, NULL},
    {"_acquire_code", (PyCFunction)Lock_acquire_code, METH_VARARGS, NULL},
    {NULL},
};

static PyGetSetDef Lock_getset[] = {
    {"handle", (getter)Lock_get_handle, NULL,
     "The lock's handle text: another process opens the same lock with RWLock.from_handle(text).", NULL},
    {"closed", (getter)Lock_get_closed, NULL, "True after close().", NULL},
    {"previous_writer_died", (getter)Lock_get_previous_writer_died, NULL,
     "True when a writer died holding the lock and no writer has finished normally since.", NULL},
    {NULL},
};

static PyTypeObject LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "swift_prwlock._native.RWLockBase",
    .tp_doc = "The compiled base of swift_prwlock.RWLock.",
    .tp_basicsize = sizeof(LockObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = Lock_new,
    .tp_dealloc = (destructor)Lock_dealloc,
    .tp_weaklistoffset = offsetof(LockObject, weakreflist),
    .tp_methods = Lock_methods,
    .tp_getset = Lock_getset,
};

/* ---- Module functions ------------------------------------------------------------------------ */

static PyObject *
module_remove(PyObject *module, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s:remove", &name)) {
        return NULL;
    }
    int rc = prwlock_remove(name);
    if (rc != 0) {
        return raise_rc(rc);
    }
    Py_RETURN_NONE;
}

static PyObject *
module_strerror(PyObject *module, PyObject *args)
{
    int code;
    if (!PyArg_ParseTuple(args, "i:strerror", &code)) {
        return NULL;
    }
    return PyUnicode_FromString(prwlock_strerror(code));
}

static PyObject *
module_library_version(PyObject *module, PyObject *unused)
{
    return PyUnicode_FromString(prwlock_version());
}

static PyObject *
module_timeout_ns(PyObject *module, PyObject *timeout)
{
    int64_t ns;
    if (timeout_to_ns(timeout, &ns) < 0) {
        return NULL;
    }
    return PyLong_FromLongLong(ns);
}

static PyMethodDef module_methods[] = {
    {"remove", module_remove, METH_VARARGS, "remove(name)\n\nRemoves the name of a named lock."},
    {"strerror", module_strerror, METH_VARARGS, "strerror(code) -> str\n\nlibprwlock's short text for a return code."},
    {"library_version", module_library_version, METH_NOARGS, "The version of the libprwlock this module runs on."},
    {"timeout_ns", module_timeout_ns, METH_O,
     "timeout_ns(timeout) -> int\n\nValidates a timeout in seconds as the acquire methods do and returns it in "
     "nanoseconds (-1 for None)."},
    {NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "swift_prwlock._native",
    .m_doc = "The compiled part of swift_prwlock, over libprwlock.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    if (PyType_Ready(&LockType) < 0 || PyType_Ready(&HoldType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL) {
        return NULL;
    }
    str_timeout = PyUnicode_InternFromString("timeout");
    if (str_timeout == NULL) {
        goto fail;
    }
    PyObject *timeout_bases = PyTuple_Pack(2, PyExc_ValueError, PyExc_TimeoutError);
    if (timeout_bases == NULL) {
        goto fail;
    }
    LockTimeoutError = PyErr_NewExceptionWithDoc(
        "swift_prwlock.LockTimeoutError",
        "The lock was not had in time in a context manager: a ValueError (as prwlock raises) and a TimeoutError.",
        timeout_bases, NULL);
    Py_DECREF(timeout_bases);
    if (LockTimeoutError == NULL) {
        goto fail;
    }
    LockCorruptError = PyErr_NewExceptionWithDoc(
        "swift_prwlock.LockCorruptError",
        "The lock's shared memory is not a valid lock (corrupt, or another layout); errno is ECORRUPT.",
        PyExc_OSError, NULL);
    if (LockCorruptError == NULL) {
        goto fail;
    }
    Py_INCREF(&LockType);
    Py_INCREF(&HoldType);
    Py_INCREF(LockTimeoutError);
    Py_INCREF(LockCorruptError);
    if (PyModule_AddObject(module, "RWLockBase", (PyObject *)&LockType) < 0
        || PyModule_AddObject(module, "Hold", (PyObject *)&HoldType) < 0
        || PyModule_AddObject(module, "LockTimeoutError", LockTimeoutError) < 0
        || PyModule_AddObject(module, "LockCorruptError", LockCorruptError) < 0
        || PyModule_AddIntConstant(module, "ECORRUPT", PRWLOCK_ECORRUPT) < 0
        || PyModule_AddIntConstant(module, "HANDLE_MAX", PRWLOCK_HANDLE_MAX) < 0
        || PyModule_AddIntConstant(module, "NAME_MAX", PRWLOCK_NAME_MAX) < 0
        || PyModule_AddStringConstant(module, "HEADER_VERSION", PRWLOCK_VERSION) < 0) {
        goto fail;
    }
    return module;
fail:
    Py_DECREF(module);
    return NULL;
}

/* gochan._cchan: the compiled fast paths of channel.py and ops.py (optional; see channel.py).

The pure-Python `Chan` in channel.py is the reference and the fallback. When
this module is built, `Chan` derives from `ChanBase` below, which stores the
channel's state (`_lock`, `_buf`, `_takes`, `_puts`, `_closed`, `_rf`) as C
members, so both implementations read and write the same fields: the Python
methods see ordinary attributes, the C code sees struct fields. `put_with`
and `take_with` here handle the common cases (no transducer, a plain waiter
on this side and on the one it pairs with, an unbuffered channel or a plain
buffer whose storage is a `Ring`, a pending queue under its limit) and call
the Python reference for everything else, after releasing the lock (the
reference takes it again and decides afresh). A fast path either completes
exactly as the reference would or defers to it before changing anything:
tests/test_ccore.py runs both on the same random operations.

What makes the common cases cheap (callgrind, CPython 3.11, per W2 item /
W1 round trip; BENCHMARKS.md has the steps): the lock is an atomic word, not
a PyThread lock (`Lock`); plain buffers keep their values in a C ring the
paths index directly, not a deque called by method name (`Ring`); a waiter's
`flag` is read at a known offset for the waiter types met, not by getattr
(`plain_waiter`); a GoTask woken on its own hub's thread is appended to the
hub's run queue here, as GoTask.wake does, not through that Python method
(`wake`).

`take` and `put` are ops.py's go-block path in C: an exact Chan, in a go
block, with no cancel request pending anywhere (else ops.py's functions, the
reference, run). They park through `hub.park_compiled`, a Python frame of its
own: a C function's caller keeps the function's arguments on its evaluation
stack, where the reaper cannot see them, and that frame tells it they are
there (reaper.py credits them). Parking from C without that frame would save
two Python frames per park and ~270 bytes of saved C stack per parked go
block (measured with a prototype), but the reaper would then count the
caller's reference to the channel as a root and never reap such a go block.

Atomicity never relies on the GIL: every read or write of a channel's state
is made under the channel's lock, and the module's own tables (the flag
offsets) are published with atomics. Waking a waiter, parking a go block,
releasing a dropped value and every call into Python happen after the lock is
released, as in the reference (but for reading the flag of a queued waiter of
a type not in the table, which is a getattr under the lock, as there).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <descrobject.h>
#include <pythread.h>

#define MAX_PENDING 1024

/* ------------------------------------------------------------------ Lock */

/* A channel's lock, held for a few hundred instructions at a time, and nearly always free.

   An uncontended acquire and release are one compare-and-swap and one exchange. A PyThread
   lock (what it was before, and what threading.Lock is) costs ~125 instructions per
   acquire/release pair on CPython 3.11 even when free: its acquire computes a deadline
   (clock_gettime) before its sem_trywait. Replacing it cut W2 from 2,556 to 2,310
   instructions per item (two pairs) and W1 from 19,346 to 18,771 per round trip (four).

   `locked` is 0 (free) or 1 (held); `waiters` counts threads that found it held and may be
   blocked on `sem`, a PyThread lock used as a binary semaphore (held while nobody is being
   woken). Acquire: swap locked 0 -> 1; if that fails, count yourself in `waiters` and loop
   { try the swap again; block on `sem` without the GIL } (a holder may need the GIL to finish).
   Release: locked = 0, then, if `waiters` > 0, release `sem` once, waking one waiter, which
   tries again. A thread arriving meanwhile may take the lock first (barging, as a PyThread
   lock allows), so two threads trading a channel do not convoy behind each other's wake-ups.
   No wake-up is lost: the releaser writes `locked` before it reads `waiters`, and a waiter
   counts itself before it tries the swap (both sequentially consistent), so either the
   releaser sees the waiter and wakes it, or the waiter sees the lock free. An extra wake-up
   (the waiter took the lock without blocking) only makes a later waiter try once more, so a
   binary semaphore suffices: PyThread locks are not counting on every platform.

   Atomics, not the GIL: free-threaded builds need nothing else. A compiler without them
   fails to build this module, and gochan then runs its pure-Python channel. */

#if defined(__GNUC__) || defined(__clang__)
#define ATOMIC_CAS(p, expect, want) \
    __atomic_compare_exchange_n((p), &(expect), (want), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ATOMIC_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
typedef int atomic_word;
#elif defined(_MSC_VER)
#include <intrin.h>
typedef long atomic_word;
static inline int
msc_cas(volatile long *p, long *expect, long want)
{
    long seen = _InterlockedCompareExchange(p, want, *expect);
    if (seen == *expect)
        return 1;
    *expect = seen;
    return 0;
}
#define ATOMIC_CAS(p, expect, want) msc_cas((p), &(expect), (want))
#define ATOMIC_STORE(p, v) ((void)_InterlockedExchange((p), (v)))
#define ATOMIC_LOAD(p) _InterlockedOr((p), 0)
#define ATOMIC_ADD(p, v) (_InterlockedExchangeAdd((p), (v)) + (v))
#else
#error "gochan._cchan needs atomic operations (GCC, Clang or MSVC); gochan runs pure-Python without it"
#endif

typedef struct {
    PyObject_HEAD
    atomic_word locked;
    atomic_word waiters;
    PyThread_type_lock sem;
} LockObject;

static PyTypeObject LockType;

static PyObject *
Lock_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    LockObject *self = (LockObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->locked = 0;
    self->waiters = 0;
    self->sem = PyThread_allocate_lock();
    if (self->sem == NULL) {
        Py_DECREF(self);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate lock");
        return NULL;
    }
    PyThread_acquire_lock(self->sem, WAIT_LOCK); /* empty: a waiter blocks until a release */
    return (PyObject *)self;
}

static void
Lock_dealloc(LockObject *self)
{
    if (self->sem != NULL) {
        PyThread_acquire_lock(self->sem, NOWAIT_LOCK); /* free it released, whatever its state */
        PyThread_release_lock(self->sem);
        PyThread_free_lock(self->sem);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline int
lock_try(LockObject *l)
{
    atomic_word expect = 0;
    return ATOMIC_CAS(&l->locked, expect, 1);
}

static void
lock_wait(LockObject *l)
{
    ATOMIC_ADD(&l->waiters, 1);
    while (!lock_try(l)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(l->sem, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    ATOMIC_ADD(&l->waiters, -1);
}

/* Take the lock: at once if it is free, else waiting without the GIL (a holder may need it). */
static inline void
lock_take(LockObject *l)
{
    if (!lock_try(l))
        lock_wait(l);
}

static inline void
lock_give(LockObject *l)
{
    ATOMIC_STORE(&l->locked, 0);
    if (ATOMIC_LOAD(&l->waiters) > 0)
        PyThread_release_lock(l->sem);
}

static PyObject *
Lock_acquire(LockObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int blocking = 1;
    double timeout = -1;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        Py_ssize_t nk = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nk; i++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, i);
            PyObject *v = args[nargs + i];
            if (PyUnicode_CompareWithASCIIString(k, "blocking") == 0) {
                blocking = PyObject_IsTrue(v);
            } else if (PyUnicode_CompareWithASCIIString(k, "timeout") == 0) {
                timeout = PyFloat_AsDouble(v);
            } else {
                PyErr_Format(PyExc_TypeError, "acquire() got an unexpected keyword argument %R", k);
                return NULL;
            }
        }
    }
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "acquire() takes at most 2 arguments");
        return NULL;
    }
    if (nargs >= 1)
        blocking = PyObject_IsTrue(args[0]);
    if (nargs >= 2)
        timeout = PyFloat_AsDouble(args[1]);
    if (blocking < 0 || (timeout == -1 && PyErr_Occurred()))
        return NULL;
    if (!blocking && timeout != -1) {
        PyErr_SetString(PyExc_ValueError, "can't specify a timeout for a non-blocking call");
        return NULL;
    }
    if (lock_try(self))
        Py_RETURN_TRUE;
    if (!blocking)
        Py_RETURN_FALSE;
    if (timeout < 0) {
        lock_wait(self);
        Py_RETURN_TRUE;
    }
    /* A timed wait polls (it never joins `waiters`, so it cannot take a wake-up meant for a
       blocked thread): nothing in gochan uses one, it is here for threading.Lock's interface. */
    PyThread_type_lock pause = PyThread_allocate_lock(); /* slept on, never released */
    if (pause == NULL)
        return PyErr_NoMemory();
    PyThread_acquire_lock(pause, WAIT_LOCK);
    double slept = 0, step = 2e-5;
    int got = 0;
    while (!got && slept < timeout) {
        double d = step < timeout - slept ? step : timeout - slept;
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock_timed(pause, (PY_TIMEOUT_T)(d * 1e6), 0);
        Py_END_ALLOW_THREADS
        slept += d;
        if (step < 1e-3)
            step *= 2;
        got = lock_try(self);
    }
    PyThread_release_lock(pause);
    PyThread_free_lock(pause);
    return PyBool_FromLong(got);
}

static PyObject *
Lock_release(LockObject *self, PyObject *unused)
{
    if (!ATOMIC_LOAD(&self->locked)) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return NULL;
    }
    lock_give(self);
    Py_RETURN_NONE;
}

static PyObject *
Lock_locked(LockObject *self, PyObject *unused)
{
    return PyBool_FromLong(ATOMIC_LOAD(&self->locked));
}

static PyObject *
Lock_enter(LockObject *self, PyObject *unused)
{
    lock_take(self);
    Py_RETURN_TRUE;
}

static PyObject *
Lock_exit(LockObject *self, PyObject *args)
{
    lock_give(self);
    Py_RETURN_NONE;
}

static PyMethodDef Lock_methods[] = {
    {"acquire", (PyCFunction)(void (*)(void))Lock_acquire, METH_FASTCALL | METH_KEYWORDS, "Take the lock."},
    {"release", (PyCFunction)Lock_release, METH_NOARGS, "Release the lock."},
    {"locked", (PyCFunction)Lock_locked, METH_NOARGS, "True while held."},
    {"__enter__", (PyCFunction)Lock_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Lock_exit, METH_VARARGS, NULL},
    {NULL}
};

static PyTypeObject LockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan._cchan.Lock",
    .tp_basicsize = sizeof(LockObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A channel's lock: threading.Lock's interface on an atomic word the C fast paths take directly.",
    .tp_new = Lock_new,
    .tp_dealloc = (destructor)Lock_dealloc,
    .tp_methods = Lock_methods,
};


/* ------------------------------------------------------------------ Ring */

/* The storage of the plain buffers (fixed, sliding, dropping) in the compiled build: a ring of
   object pointers that the channel's C paths read and write directly, with a deque's
   `append`/`popleft`/`len` for everything else (buffers.py, the Python reference in
   channel.py, transducers, stats). Through a deque the C paths called `append` and `popleft`
   by name (a method lookup and a call each, ~150 instructions) and `len` through
   PyObject_Size. `overflow` is what an append does once `n` values are held: "park" appends
   anyway (the channel parks puts while len >= n, but a transducer may add past n, as in
   core.async), "slide" drops the oldest, "drop" drops the new value. No `n`: unbounded.

   Always used under the channel's lock (or by one thread, as a lone buffer); under a
   free-threaded build its Python methods also take the ring's critical section. */

enum { RING_PARK, RING_SLIDE, RING_DROP };

typedef struct {
    PyObject_HEAD
    PyObject **items; /* cap slots; the values are items[(head + i) & (cap - 1)], i < len */
    Py_ssize_t cap;   /* 0 or a power of two */
    Py_ssize_t head;
    Py_ssize_t len;
    Py_ssize_t n;     /* -1: unbounded */
    int overflow;
} RingObject;

static PyTypeObject RingType;

#define RING_MIN 8

/* Move the values to a new array of `cap` slots (>= len), in order from 0. -1 on no memory. */
static int
ring_resize(RingObject *r, Py_ssize_t cap)
{
    PyObject **items = PyMem_New(PyObject *, cap);
    if (items == NULL)
        return -1;
    Py_ssize_t mask = r->cap - 1;
    for (Py_ssize_t i = 0; i < r->len; i++)
        items[i] = r->items[(r->head + i) & mask];
    PyMem_Free(r->items);
    r->items = items;
    r->cap = cap;
    r->head = 0;
    return 0;
}

static inline int
ring_full(RingObject *r)
{
    return r->overflow == RING_PARK && r->n >= 0 && r->len >= r->n;
}

/* Append `v` as the overflow says. `*dropped` receives a value the ring let go of (a new
   reference for the caller to release, outside the channel's lock: releasing may run any
   code), or NULL. -1 (MemoryError set) if the ring could not grow. */
static inline int
ring_push(RingObject *r, PyObject *v, PyObject **dropped)
{
    *dropped = NULL;
    if (r->n >= 0 && r->len >= r->n && r->overflow != RING_PARK) {
        if (r->overflow == RING_DROP || r->len == 0)
            return 0;
        *dropped = r->items[r->head];
        r->items[r->head] = NULL;
        r->head = (r->head + 1) & (r->cap - 1);
        r->len--;
    }
    if (r->len == r->cap && ring_resize(r, r->cap ? r->cap * 2 : RING_MIN) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(v);
    r->items[(r->head + r->len) & (r->cap - 1)] = v;
    r->len++;
    return 0;
}

/* The oldest value (a new reference); the ring must not be empty. */
static inline PyObject *
ring_pop(RingObject *r)
{
    PyObject *v = r->items[r->head];
    r->items[r->head] = NULL;
    r->head = (r->head + 1) & (r->cap - 1);
    if (--r->len == 0)
        r->head = 0;
    else if (r->cap > 64 && r->len < r->cap / 4)
        (void)ring_resize(r, r->cap / 2); /* give memory back; kept as is if that fails */
    return v;
}

#ifdef Py_GIL_DISABLED
#define RING_LOCK(r) Py_BEGIN_CRITICAL_SECTION((PyObject *)(r))
#define RING_UNLOCK(r) Py_END_CRITICAL_SECTION()
#else
#define RING_LOCK(r) {
#define RING_UNLOCK(r) }
#endif

static PyObject *
Ring_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"n", "overflow", NULL};
    PyObject *n_obj = Py_None;
    const char *overflow = "park";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Os:Ring", kwlist, &n_obj, &overflow))
        return NULL;
    int mode;
    if (strcmp(overflow, "park") == 0)
        mode = RING_PARK;
    else if (strcmp(overflow, "slide") == 0)
        mode = RING_SLIDE;
    else if (strcmp(overflow, "drop") == 0)
        mode = RING_DROP;
    else {
        PyErr_Format(PyExc_ValueError, "Ring: overflow must be 'park', 'slide' or 'drop', got '%s'", overflow);
        return NULL;
    }
    Py_ssize_t n = -1;
    if (n_obj != Py_None) {
        n = PyNumber_AsSsize_t(n_obj, PyExc_OverflowError);
        if (n == -1 && PyErr_Occurred())
            return NULL;
        if (n < (mode == RING_PARK ? 0 : 1)) {
            PyErr_Format(PyExc_ValueError, "Ring: n must be %s, got %zd", mode == RING_PARK ? ">= 0" : ">= 1", n);
            return NULL;
        }
    }
    RingObject *r = (RingObject *)type->tp_alloc(type, 0);
    if (r == NULL)
        return NULL;
    r->items = NULL;
    r->cap = r->head = r->len = 0;
    r->n = n;
    r->overflow = mode;
    return (PyObject *)r;
}

static int
Ring_traverse(RingObject *r, visitproc visit, void *arg)
{
    Py_ssize_t mask = r->cap - 1;
    for (Py_ssize_t i = 0; i < r->len; i++)
        Py_VISIT(r->items[(r->head + i) & mask]);
    return 0;
}

static void
release_items(PyObject **items, Py_ssize_t head, Py_ssize_t len, Py_ssize_t cap)
{
    for (Py_ssize_t i = 0; i < len; i++)
        Py_DECREF(items[(head + i) & (cap - 1)]);
    PyMem_Free(items);
}

static int
Ring_clear(RingObject *r)
{
    PyObject **items = r->items;
    Py_ssize_t head = r->head, len = r->len, cap = r->cap;
    r->items = NULL;
    r->cap = r->head = r->len = 0;
    release_items(items, head, len, cap);
    return 0;
}

static void
Ring_dealloc(RingObject *r)
{
    PyObject_GC_UnTrack(r);
    Py_TRASHCAN_BEGIN(r, Ring_dealloc)
    Ring_clear(r);
    Py_TYPE(r)->tp_free((PyObject *)r);
    Py_TRASHCAN_END
}

static PyObject *
Ring_append(RingObject *r, PyObject *v)
{
    PyObject *dropped;
    int err;
    RING_LOCK(r);
    err = ring_push(r, v, &dropped);
    RING_UNLOCK(r);
    Py_XDECREF(dropped);
    if (err < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Ring_popleft(RingObject *r, PyObject *unused)
{
    PyObject *v = NULL;
    RING_LOCK(r);
    if (r->len > 0)
        v = ring_pop(r);
    RING_UNLOCK(r);
    if (v == NULL)
        PyErr_SetString(PyExc_IndexError, "pop from an empty ring");
    return v;
}

/* The values, oldest first, as a new list. */
static PyObject *
ring_list(RingObject *r)
{
    PyObject *l;
    RING_LOCK(r);
    l = PyList_New(r->len);
    if (l != NULL) {
        Py_ssize_t mask = r->cap - 1;
        for (Py_ssize_t i = 0; i < r->len; i++) {
            PyObject *v = r->items[(r->head + i) & mask];
            Py_INCREF(v);
            PyList_SET_ITEM(l, i, v);
        }
    }
    RING_UNLOCK(r);
    return l;
}

static PyObject *
Ring_clear_method(RingObject *r, PyObject *unused)
{
    PyObject **items;
    Py_ssize_t head, len, cap;
    RING_LOCK(r);
    items = r->items;
    head = r->head;
    len = r->len;
    cap = r->cap;
    r->items = NULL;
    r->cap = r->head = r->len = 0;
    RING_UNLOCK(r);
    release_items(items, head, len, cap); /* outside the section: releasing may run any code */
    Py_RETURN_NONE;
}

static Py_ssize_t
Ring_len(RingObject *r)
{
    Py_ssize_t n;
    RING_LOCK(r);
    n = r->len;
    RING_UNLOCK(r);
    return n;
}

static PyObject *
Ring_iter(RingObject *r)
{
    PyObject *l = ring_list(r); /* a snapshot: the ring may change while it is iterated */
    if (l == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(l);
    Py_DECREF(l);
    return it;
}

static PyObject *
Ring_repr(RingObject *r)
{
    static const char *names[] = {"park", "slide", "drop"};
    PyObject *l = ring_list(r);
    if (l == NULL)
        return NULL;
    PyObject *s;
    if (r->n < 0)
        s = PyUnicode_FromFormat("Ring(%R)", l);
    else
        s = PyUnicode_FromFormat("Ring(%R, n=%zd, overflow='%s')", l, r->n, names[r->overflow]);
    Py_DECREF(l);
    return s;
}

static PyObject *
Ring_get_n(RingObject *r, void *unused)
{
    if (r->n < 0)
        Py_RETURN_NONE;
    return PyLong_FromSsize_t(r->n);
}

static PyObject *
Ring_get_overflow(RingObject *r, void *unused)
{
    static const char *names[] = {"park", "slide", "drop"};
    return PyUnicode_FromString(names[r->overflow]);
}

static PyMethodDef Ring_methods[] = {
    {"append", (PyCFunction)Ring_append, METH_O, "Add a value at the end (what happens when full: `overflow`)."},
    {"popleft", (PyCFunction)Ring_popleft, METH_NOARGS, "Remove and return the oldest value (IndexError if empty)."},
    {"clear", (PyCFunction)Ring_clear_method, METH_NOARGS, "Remove every value."},
    {NULL}
};

static PyGetSetDef Ring_getset[] = {
    {"n", (getter)Ring_get_n, NULL, "The bound (None: unbounded).", NULL},
    {"overflow", (getter)Ring_get_overflow, NULL, "'park', 'slide' or 'drop': what an append past n does.", NULL},
    {NULL}
};

static PySequenceMethods Ring_as_sequence = {
    .sq_length = (lenfunc)Ring_len,
};

static PyTypeObject RingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan._cchan.Ring",
    .tp_basicsize = sizeof(RingObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Ring(n=None, overflow='park'): a plain buffer's storage in the compiled build "
              "(a deque's append/popleft/len; see gochan/_cchan.c).",
    .tp_new = Ring_new,
    .tp_dealloc = (destructor)Ring_dealloc,
    .tp_traverse = (traverseproc)Ring_traverse,
    .tp_clear = (inquiry)Ring_clear,
    .tp_repr = (reprfunc)Ring_repr,
    .tp_iter = (getiterfunc)Ring_iter,
    .tp_as_sequence = &Ring_as_sequence,
    .tp_methods = Ring_methods,
    .tp_getset = Ring_getset,
};

/* ------------------------------------------------------- configured names */

/* Set by channel.py and ops.py (configure_channel, configure_ops): the Python reference, the
   types the fast paths accept, and where those types keep the fields read here. */
static PyObject *py_put_with;   /* the reference Chan.put_with */
static PyObject *py_take_with;  /* the reference Chan.take_with */
static PyObject *chan_type;     /* channel.Chan: the exact type take/put accept */
static PyObject *PENDING;       /* protocols.PENDING */
static PyObject *NOT_READY;     /* protocols.NOT_READY */
static PyTypeObject *buffer_type; /* buffers.Buffer */
static Py_ssize_t off_q, off_plain; /* where a Buffer keeps its `q` and `plain` slots */
static PyObject *py_take;       /* the reference ops.take */
static PyObject *py_put;        /* the reference ops.put */
static PyObject *gotask_type;   /* hub.GoTask */
static PyTypeObject *hub_type;  /* hub.Hub */
static PyTypeObject *deque_type; /* collections.deque */
static PyObject *gotask_wake;   /* GoTask.wake, the function */
static unsigned int gotask_tag; /* GoTask's version tag when GoTask.wake was last seen unchanged */
static Py_ssize_t off_task_hub, off_hub_ident, off_hub_runq; /* GoTask.hub, Hub.ident, Hub.runq */
static PyCFunction deque_append; /* deque.append's C function (METH_O) */
static PyObject *getcurrent;    /* greenlet.getcurrent */
/* greenlet's C API (its capsule `greenlet._C_API`, as greenlet.h reads it): PyGreenlet_GetCurrent
   is entry 4, the greenlet type entry 0 (so since greenlet 0.4). Through it a take or put skips
   calling `getcurrent` as a Python builtin (~60 instructions). NULL: call `getcurrent`. */
static PyObject *(*greenlet_current)(void);
static PyObject *any_pending;   /* procs.any_pending: non-empty while a cancel request is pending */
static PyObject *park;          /* hub.park_compiled(task, op, waiting[, value]) */
static PyObject *TAKE, *PUT;    /* protocols.TAKE / PUT: park reasons */

static PyObject *s_flag, *s_wake;

#define IS_NONE(o) ((o) == NULL || (o) == Py_None)
#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

/* The offset of the instance slot `name` of `type` (a __slots__ member), or -1 with an error. */
static Py_ssize_t
slot_offset(PyObject *type, const char *name)
{
    if (!PyType_Check(type)) {
        PyErr_Format(PyExc_TypeError, "expected a class, got %R", type);
        return -1;
    }
    PyObject *key = PyUnicode_FromString(name);
    if (key == NULL)
        return -1;
    PyObject *d = _PyType_Lookup((PyTypeObject *)type, key);
    Py_DECREF(key);
    if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%R.%s is not a slot", type, name);
        return -1;
    }
    return ((PyMemberDescrObject *)d)->d_member->offset;
}

/* ------------------------------------------------------------ waiter flags */

/* Reading a waiter's `flag` (None: a plain take or put; else an alts' Flag) on every
   operation. A generic getattr costs ~100 instructions (a type lookup, a descriptor call);
   knowing where the flag lives in a type, a read costs a few. For each waiter type met
   (GoTask, ThreadWaiter, CallbackWaiter, NONBLOCKING's, AltWaiter: a handful) this keeps
   either the offset of its `flag` slot or "a class attribute that is None, and no instance
   dict to override it", keyed by the type's version tag: CPython gives a type a new tag (or
   none) whenever the type or a base is changed, and never reuses a tag, so an entry can
   neither go stale nor match another type later allocated at the same address. Any other
   type, or a type without a valid tag, takes the getattr. */
#define FLAG_WAYS 16
#define FLAG_IS_NONE (-1) /* the entry's `offset` for a class attribute that is None */

/* Written once each (a thread claims an entry, fills it, then publishes it with `ready`), so
   a reader never sees half an entry, with or without a GIL. Once all are used, types not
   among them take the getattr. */
typedef struct {
    PyTypeObject *type; /* not a reference: the tag tells a new type at the same address */
    unsigned int tag;
    Py_ssize_t offset;
    atomic_word ready;
} FlagWay;

static FlagWay flag_ways[FLAG_WAYS];
static atomic_word flag_used;

/* How `flag` is read on instances of `tp`: an offset, FLAG_IS_NONE, or 0 (use getattr). */
static Py_ssize_t
flag_way(PyTypeObject *tp)
{
    if (tp->tp_getattro != PyObject_GenericGetAttr)
        return 0;
    PyObject *d = _PyType_Lookup(tp, s_flag); /* borrowed; gives the type a version tag */
    if (d == NULL)
        return 0;
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX && m->offset > 0)
            return m->offset;
        return 0;
    }
    if (d == Py_None && tp->tp_dictoffset == 0)
        return FLAG_IS_NONE;
    return 0;
}

/* Add an entry for `tp` if its flag can be read directly (configure_ops gives GoTask the first). */
static void
flag_learn(PyTypeObject *tp)
{
    Py_ssize_t offset = flag_way(tp);
    unsigned int tag = tp->tp_version_tag;
    if (offset != 0 && tag != 0 && (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)
            && ATOMIC_LOAD(&flag_used) < FLAG_WAYS) {
        atomic_word i = ATOMIC_ADD(&flag_used, 1) - 1;
        if (i < FLAG_WAYS) {
            FlagWay *w = &flag_ways[i];
            w->type = tp;
            w->tag = tag;
            w->offset = offset;
            ATOMIC_STORE(&w->ready, 1);
        }
    }
}

/* 1 if `waiter.flag` is None (a plain waiter), 0 if not, -1 on error. Runs no Python code
   when the type is known (a slot or class attribute read); see flag_ways. */
static int
plain_waiter(PyObject *waiter)
{
    PyTypeObject *tp = Py_TYPE(waiter);
    unsigned int tag = tp->tp_version_tag;
    if (tag != 0 && (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) {
        for (int i = 0; i < FLAG_WAYS; i++) {
            FlagWay *w = &flag_ways[i];
            if (!ATOMIC_LOAD(&w->ready))
                break; /* entries are used in order */
            if (w->type == tp && w->tag == tag) {
                if (w->offset == FLAG_IS_NONE)
                    return 1;
                PyObject *f = *(PyObject **)((char *)waiter + w->offset);
                if (f == NULL)
                    break; /* an unset slot: getattr raises */
                return f == Py_None;
            }
        }
    }
    flag_learn(tp);
    PyObject *f = PyObject_GetAttr(waiter, s_flag);
    if (f == NULL)
        return -1;
    int r = f == Py_None;
    Py_DECREF(f);
    return r;
}

/* -------------------------------------------------------------- ChanBase */

typedef struct {
    PyObject_HEAD
    PyObject *lock;   /* _lock: a LockObject (else every operation takes the Python path) */
    PyObject *buf;    /* _buf: None or a buffers.Buffer */
    PyObject *takes;  /* _takes: None or a list of waiters */
    PyObject *puts;   /* _puts: None or a list of (waiter, value) */
    PyObject *closed; /* _closed: True or False */
    PyObject *rf;     /* _rf: None or the transducer state */
} ChanBase;

static PyTypeObject ChanBaseType;

static int
ChanBase_traverse(ChanBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->lock);
    Py_VISIT(self->buf);
    Py_VISIT(self->takes);
    Py_VISIT(self->puts);
    Py_VISIT(self->closed);
    Py_VISIT(self->rf);
    return 0;
}

static int
ChanBase_clear(ChanBase *self)
{
    Py_CLEAR(self->lock);
    Py_CLEAR(self->buf);
    Py_CLEAR(self->takes);
    Py_CLEAR(self->puts);
    Py_CLEAR(self->closed);
    Py_CLEAR(self->rf);
    return 0;
}

static void
ChanBase_dealloc(ChanBase *self)
{
    PyObject_GC_UnTrack(self);
    ChanBase_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The ring of a plain buffer (borrowed from `buf`, which never changes its `q` or `plain`), or
   NULL if `buf` is not a buffers.Buffer whose `plain` is True and whose `q` is a Ring (then the
   reference decides: a promise or result buffer, a buffer with storage of its own). */
static inline RingObject *
plain_ring(PyObject *buf)
{
    PyTypeObject *tp = Py_TYPE(buf);
    if (buffer_type == NULL || (tp->tp_base != buffer_type && !PyType_IsSubtype(tp, buffer_type)))
        return NULL;
    PyObject *q = SLOT(buf, off_q);
    if (SLOT(buf, off_plain) != Py_True || q == NULL || !Py_IS_TYPE(q, &RingType))
        return NULL;
    return (RingObject *)q;
}

static inline Py_ssize_t
list_len(PyObject *l)
{
    return IS_NONE(l) || !PyList_CheckExact(l) ? -1 : PyList_GET_SIZE(l);
}

/* The pending queue in `*slot` (borrowed), made if it is still None, as the reference does;
   NULL if it is something else (no error), or with an error if none could be made. */
static PyObject *
queue_of(PyObject **slot)
{
    PyObject *q = *slot;
    if (q != NULL && PyList_CheckExact(q))
        return q;
    if (q != NULL && q != Py_None)
        return NULL;
    q = PyList_New(0);
    if (q == NULL)
        return NULL;
    Py_XSETREF(*slot, q);
    return q;
}

/* True while GoTask.wake is the method configure_ops saw (a test or a debugger may replace it;
   then every wake calls it). Checked by GoTask's version tag, looked up again when that moves. */
static int
gotask_wake_unchanged(void)
{
    PyTypeObject *tp = (PyTypeObject *)gotask_type;
    unsigned int tag = tp->tp_version_tag;
    if (tag != 0 && tag == gotask_tag)
        return 1;
    if (_PyType_Lookup(tp, s_wake) != gotask_wake)
        return 0;
    tag = tp->tp_version_tag; /* the lookup gives the type a tag if it had none */
    if (tag != 0 && (tp->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG))
        gotask_tag = tag;
    return 1;
}

/* waiter.wake(value), after the channel's lock is released: a new reference (None) or NULL.

   GoTask.wake in C where it is cheap and exact: for a GoTask woken on its own hub's thread,
   GoTask.wake appends (task, value) to its hub's run queue, and so does this (`runq` read at
   the call, as the method reads it: the timer hook points it at the timer lane while it
   runs). That is 2 of W1's 4 operations per round trip; the method cost a Python frame, a
   `get_ident()` call and two attribute reads (~600 instructions). Every other wake, a GoTask
   of another hub's thread included (`Hub.post`: the inbox, its lock and the hub's wake-up),
   calls the waiter's own `wake`. */
static PyObject *
wake(PyObject *waiter, PyObject *value)
{
    if ((PyObject *)Py_TYPE(waiter) == gotask_type && deque_append != NULL) {
        PyObject *hub = SLOT(waiter, off_task_hub);
        if (hub != NULL && Py_IS_TYPE(hub, hub_type)) {
            PyObject *ident = SLOT(hub, off_hub_ident);
            PyObject *runq = SLOT(hub, off_hub_runq);
            if (ident != NULL && PyLong_CheckExact(ident) && runq != NULL && Py_IS_TYPE(runq, deque_type)
                    && PyLong_AsUnsignedLong(ident) == PyThread_get_thread_ident() && gotask_wake_unchanged()) {
                PyObject *pair = PyTuple_Pack(2, waiter, value);
                if (pair == NULL)
                    return NULL;
                PyObject *r = deque_append(runq, pair);
                Py_DECREF(pair);
                return r;
            }
            if (PyErr_Occurred())
                PyErr_Clear(); /* an ident that is no thread's: the method decides */
        }
    }
    return PyObject_CallMethodOneArg(waiter, s_wake, value);
}

/* After the lock is released: wake `waiter` (a reference we own, released here). 0 or -1. */
static int
wake_owned(PyObject *waiter, PyObject *value)
{
    PyObject *r = wake(waiter, value);
    Py_DECREF(waiter);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* The common cases of put_with (see the module comment), for a plain waiter on a channel with
   no transducer: a new reference to the result (True, False, PENDING or NOT_READY), or NULL
   with no error set when the reference must decide, or NULL with an error. */
static PyObject *
fast_put(ChanBase *self, PyObject *waiter, PyObject *val, int blockable)
{
    if (!IS_NONE(self->rf) || self->lock == NULL || !Py_IS_TYPE(self->lock, &LockType))
        return NULL;
    int pw = plain_waiter(waiter);
    if (pw <= 0)
        return NULL; /* an alts' registration (or an error, which the caller returns) */
    PyObject *buf = self->buf;
    RingObject *ring = NULL;
    if (!IS_NONE(buf) && (ring = plain_ring(buf)) == NULL)
        return NULL;
    LockObject *lock = (LockObject *)self->lock;
    PyObject *result = NULL, *taker = NULL, *dropped = NULL;
    lock_take(lock);
    if (self->buf != buf)
        goto reference;
    if (self->closed != Py_False) {
        if (self->closed != Py_True)
            goto reference;
        result = Py_False;
        goto done;
    }
    if (ring == NULL || !ring_full(ring)) {
        Py_ssize_t nt = list_len(self->takes);
        if (nt > 0) {
            /* a taker waits (so a buffer is empty): hand the value over */
            if (ring != NULL && ring->len > 0)
                goto reference;
            PyObject *t = PyList_GET_ITEM(self->takes, 0);
            int tp = plain_waiter(t);
            if (tp != 1) {
                PyErr_Clear();
                goto reference;
            }
            Py_INCREF(t);
            if (PyList_SetSlice(self->takes, 0, 1, NULL) < 0) {
                Py_DECREF(t);
                goto error;
            }
            taker = t;
            result = Py_True;
            goto done;
        }
        if (ring != NULL) {
            if (ring_push(ring, val, &dropped) < 0)
                goto error;
            result = Py_True;
            goto done;
        }
    }
    /* no room, nobody to take: wait */
    if (!blockable) {
        result = NOT_READY;
        goto done;
    }
    PyObject *puts = queue_of(&self->puts);
    if (puts == NULL) {
        if (PyErr_Occurred())
            goto error;
        goto reference;
    }
    if (PyList_GET_SIZE(puts) >= MAX_PENDING)
        goto reference; /* it drops dead alts registrations, or raises TooManyPendingError */
    PyObject *pair = PyTuple_Pack(2, waiter, val);
    if (pair == NULL)
        goto error;
    if (PyList_Append(puts, pair) < 0) {
        Py_DECREF(pair);
        goto error;
    }
    Py_DECREF(pair);
    result = PENDING;
done:
    lock_give(lock);
    Py_XDECREF(dropped);
    if (taker != NULL && wake_owned(taker, val) < 0)
        return NULL;
    Py_INCREF(result);
    return result;
reference:
    lock_give(lock);
    return NULL;
error:
    lock_give(lock);
    return NULL;
}

/* The common cases of take_with, as fast_put. */
static PyObject *
fast_take(ChanBase *self, PyObject *waiter, int blockable)
{
    if (!IS_NONE(self->rf) || self->lock == NULL || !Py_IS_TYPE(self->lock, &LockType))
        return NULL;
    int pw = plain_waiter(waiter);
    if (pw <= 0)
        return NULL;
    PyObject *buf = self->buf;
    RingObject *ring = NULL;
    if (!IS_NONE(buf) && (ring = plain_ring(buf)) == NULL)
        return NULL;
    LockObject *lock = (LockObject *)self->lock;
    PyObject *result = NULL, *putter = NULL;
    lock_take(lock);
    if (self->buf != buf)
        goto reference;
    Py_ssize_t np = list_len(self->puts);
    PyObject *pair = NULL;
    if (np > 0) {
        /* a putter waits (an unbuffered channel, or a full fixed buffer) */
        if (ring != NULL && (ring->len == 0 || ring->overflow != RING_PARK || ring->len - 1 >= ring->n))
            goto reference;
        pair = PyList_GET_ITEM(self->puts, 0);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2)
            goto reference;
        int pp = plain_waiter(PyTuple_GET_ITEM(pair, 0));
        if (pp != 1) {
            PyErr_Clear();
            goto reference;
        }
        Py_INCREF(pair);
        if (PyList_SetSlice(self->puts, 0, 1, NULL) < 0) {
            Py_DECREF(pair);
            goto error;
        }
        putter = PyTuple_GET_ITEM(pair, 0);
        Py_INCREF(putter);
        if (ring != NULL) {
            /* take the oldest, then admit the putter's value (a slot is free: no growth) */
            PyObject *dropped;
            result = ring_pop(ring);
            (void)ring_push(ring, PyTuple_GET_ITEM(pair, 1), &dropped);
        } else {
            result = PyTuple_GET_ITEM(pair, 1);
            Py_INCREF(result);
        }
        Py_DECREF(pair);
        goto done;
    }
    if (ring != NULL && ring->len > 0) {
        result = ring_pop(ring);
        goto done;
    }
    /* nothing to take */
    if (self->closed != Py_False) {
        if (self->closed != Py_True)
            goto reference;
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    if (!blockable) {
        result = NOT_READY;
        Py_INCREF(result);
        goto done;
    }
    PyObject *takes = queue_of(&self->takes);
    if (takes == NULL) {
        if (PyErr_Occurred())
            goto error;
        goto reference;
    }
    if (PyList_GET_SIZE(takes) >= MAX_PENDING)
        goto reference;
    if (PyList_Append(takes, waiter) < 0)
        goto error;
    result = PENDING;
    Py_INCREF(result);
done:
    lock_give(lock);
    if (putter != NULL && wake_owned(putter, Py_True) < 0) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
reference:
    lock_give(lock);
    return NULL;
error:
    lock_give(lock);
    return NULL;
}

static int
not_configured(void)
{
    if (py_put_with == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gochan._cchan is not configured");
        return 1;
    }
    return 0;
}

/* A call with keywords goes to the reference as it is (self first). */
static PyObject *
call_with_keywords(PyObject *ref, ChanBase *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t n = nargs + PyTuple_GET_SIZE(kwnames);
    PyObject *small[8];
    PyObject **full = n + 1 <= 8 ? small : PyMem_Malloc((n + 1) * sizeof(PyObject *));
    if (full == NULL)
        return PyErr_NoMemory();
    full[0] = (PyObject *)self;
    for (Py_ssize_t i = 0; i < n; i++)
        full[i + 1] = args[i];
    PyObject *r = PyObject_Vectorcall(ref, full, nargs + 1, kwnames);
    if (full != small)
        PyMem_Free(full);
    return r;
}

static PyObject *
ChanBase_put_with(ChanBase *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        if (not_configured())
            return NULL;
        return call_with_keywords(py_put_with, self, args, nargs, kwnames);
    }
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "put_with(waiter, val, blockable=True)");
        return NULL;
    }
    if (not_configured())
        return NULL;
    int blockable = nargs < 3 ? 1 : PyObject_IsTrue(args[2]);
    if (blockable < 0)
        return NULL;
    PyObject *r = fast_put(self, args[0], args[1], blockable);
    if (r != NULL || PyErr_Occurred())
        return r;
    PyObject *full[4] = {(PyObject *)self, args[0], args[1], nargs < 3 ? Py_True : args[2]};
    return PyObject_Vectorcall(py_put_with, full, 4, NULL);
}

static PyObject *
ChanBase_take_with(ChanBase *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        if (not_configured())
            return NULL;
        return call_with_keywords(py_take_with, self, args, nargs, kwnames);
    }
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "take_with(waiter, blockable=True)");
        return NULL;
    }
    if (not_configured())
        return NULL;
    int blockable = nargs < 2 ? 1 : PyObject_IsTrue(args[1]);
    if (blockable < 0)
        return NULL;
    PyObject *r = fast_take(self, args[0], blockable);
    if (r != NULL || PyErr_Occurred())
        return r;
    PyObject *full[3] = {(PyObject *)self, args[0], nargs < 2 ? Py_True : args[1]};
    return PyObject_Vectorcall(py_take_with, full, 3, NULL);
}

static PyMethodDef ChanBase_methods[] = {
    {"put_with", (PyCFunction)(void (*)(void))ChanBase_put_with, METH_FASTCALL | METH_KEYWORDS,
     "Chan.put_with, compiled: the common cases here, the rest in the Python reference."},
    {"take_with", (PyCFunction)(void (*)(void))ChanBase_take_with, METH_FASTCALL | METH_KEYWORDS,
     "Chan.take_with, compiled: the common cases here, the rest in the Python reference."},
    {NULL}
};

static PyMemberDef ChanBase_members[] = {
    {"_lock", T_OBJECT, offsetof(ChanBase, lock), 0, NULL},
    {"_buf", T_OBJECT, offsetof(ChanBase, buf), 0, NULL},
    {"_takes", T_OBJECT, offsetof(ChanBase, takes), 0, NULL},
    {"_puts", T_OBJECT, offsetof(ChanBase, puts), 0, NULL},
    {"_closed", T_OBJECT, offsetof(ChanBase, closed), 0, NULL},
    {"_rf", T_OBJECT, offsetof(ChanBase, rf), 0, NULL},
    {NULL}
};

static PyTypeObject ChanBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gochan._cchan.ChanBase",
    .tp_basicsize = sizeof(ChanBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The compiled state and fast paths of channel.Chan (see gochan/_cchan.c).",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)ChanBase_dealloc,
    .tp_traverse = (traverseproc)ChanBase_traverse,
    .tp_clear = (inquiry)ChanBase_clear,
    .tp_methods = ChanBase_methods,
    .tp_members = ChanBase_members,
};

/* --------------------------------------------------------------- take/put */

/* ops.take's go-block path: an exact Chan, in a go block, no cancel request pending anywhere
   (else the reference ops.take, which checks for one). Parks through hub.park_compiled. */
static PyObject *
c_take(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (py_take == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gochan._cchan: take is not configured");
        return NULL;
    }
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames))
        return PyObject_Vectorcall(py_take, args, nargs, kwnames);
    if (nargs != 1 || (PyObject *)Py_TYPE(args[0]) != chan_type || PyList_GET_SIZE(any_pending))
        return PyObject_Vectorcall(py_take, args, nargs, NULL);
    PyObject *g = greenlet_current != NULL ? greenlet_current() : PyObject_CallNoArgs(getcurrent);
    if (g == NULL)
        return NULL;
    if ((PyObject *)Py_TYPE(g) != gotask_type) {
        Py_DECREF(g);
        return PyObject_Vectorcall(py_take, args, nargs, NULL);
    }
    PyObject *r = fast_take((ChanBase *)args[0], g, 1);
    if (r == NULL && !PyErr_Occurred()) {
        PyObject *full[3] = {args[0], g, Py_True};
        r = PyObject_Vectorcall(py_take_with, full, 3, NULL);
    }
    if (r == PENDING) {
        Py_DECREF(r);
        PyObject *pa[3] = {g, TAKE, args[0]};
        r = PyObject_Vectorcall(park, pa, 3, NULL);
    }
    Py_DECREF(g);
    return r;
}

/* ops.put's go-block path, as c_take. */
static PyObject *
c_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (py_put == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gochan._cchan: put is not configured");
        return NULL;
    }
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames))
        return PyObject_Vectorcall(py_put, args, nargs, kwnames);
    if (nargs != 2 || (PyObject *)Py_TYPE(args[0]) != chan_type || args[1] == Py_None
            || PyList_GET_SIZE(any_pending))
        return PyObject_Vectorcall(py_put, args, nargs, NULL);
    PyObject *g = greenlet_current != NULL ? greenlet_current() : PyObject_CallNoArgs(getcurrent);
    if (g == NULL)
        return NULL;
    if ((PyObject *)Py_TYPE(g) != gotask_type) {
        Py_DECREF(g);
        return PyObject_Vectorcall(py_put, args, nargs, NULL);
    }
    PyObject *r = fast_put((ChanBase *)args[0], g, args[1], 1);
    if (r == NULL && !PyErr_Occurred()) {
        PyObject *full[4] = {args[0], g, args[1], Py_True};
        r = PyObject_Vectorcall(py_put_with, full, 4, NULL);
    }
    if (r == PENDING) {
        Py_DECREF(r);
        PyObject *pa[4] = {g, PUT, args[0], args[1]};
        r = PyObject_Vectorcall(park, pa, 4, NULL);
    }
    Py_DECREF(g);
    return r;
}

#define SET(var, obj) do { Py_XINCREF(obj); Py_XSETREF(var, obj); } while (0)

static PyObject *
configure_channel(PyObject *module, PyObject *args)
{
    PyObject *ptw, *ptk, *ct, *pend, *notready, *bt;
    if (!PyArg_ParseTuple(args, "OOOOOO!", &ptw, &ptk, &ct, &pend, &notready, &PyType_Type, &bt))
        return NULL;
    Py_ssize_t oq = slot_offset(bt, "q"), op = slot_offset(bt, "plain");
    if (oq < 0 || op < 0)
        return NULL;
    SET(py_put_with, ptw);
    SET(py_take_with, ptk);
    SET(chan_type, ct);
    SET(PENDING, pend);
    SET(NOT_READY, notready);
    off_q = oq;
    off_plain = op;
    Py_INCREF(bt);
    Py_XSETREF(buffer_type, (PyTypeObject *)bt);
    Py_RETURN_NONE;
}

static PyObject *
configure_ops(PyObject *module, PyObject *args)
{
    PyObject *pt, *pp, *gt, *ht, *dt, *gc, *ap, *pk, *tk, *pu;
    if (!PyArg_ParseTuple(args, "OOO!O!O!OO!OOO", &pt, &pp, &PyType_Type, &gt, &PyType_Type, &ht, &PyType_Type, &dt,
                          &gc, &PyList_Type, &ap, &pk, &tk, &pu))
        return NULL;
    Py_ssize_t oh = slot_offset(gt, "hub"), oi = slot_offset(ht, "ident"), orq = slot_offset(ht, "runq");
    if (oh < 0 || oi < 0 || orq < 0)
        return NULL;
    PyObject *gw = _PyType_Lookup((PyTypeObject *)gt, s_wake);
    PyObject *app = PyObject_GetAttrString(dt, "append");
    if (app == NULL)
        return NULL;
    PyCFunction da = NULL;
    if (Py_IS_TYPE(app, &PyMethodDescr_Type) && ((PyMethodDescrObject *)app)->d_method->ml_flags == METH_O)
        da = ((PyMethodDescrObject *)app)->d_method->ml_meth;
    Py_DECREF(app);
    off_task_hub = oh;
    off_hub_ident = oi;
    off_hub_runq = orq;
    SET(gotask_wake, gw);
    gotask_tag = 0;
    Py_INCREF(ht);
    Py_XSETREF(hub_type, (PyTypeObject *)ht);
    Py_INCREF(dt);
    Py_XSETREF(deque_type, (PyTypeObject *)dt);
    deque_append = da; /* NULL (never on CPython 3.10-3.13): every wake calls the method */
    flag_learn((PyTypeObject *)gt); /* the most frequent waiter: its entry is met first */
    greenlet_current = NULL;
    void **api = (void **)PyCapsule_Import("greenlet._C_API", 0);
    PyObject *now = PyObject_CallNoArgs(gc);
    if (api != NULL && now != NULL && PyType_Check((PyObject *)api[0])
            && PyObject_TypeCheck(now, (PyTypeObject *)api[0]) && PyType_IsSubtype((PyTypeObject *)gt, api[0])) {
        PyObject *(*current)(void) = (PyObject *(*)(void))api[4];
        PyObject *same = current();
        if (same == now)
            greenlet_current = current; /* the table is what greenlet.h says it is */
        Py_XDECREF(same);
    }
    Py_XDECREF(now);
    PyErr_Clear(); /* no capsule, or not the expected one: `getcurrent` is called instead */
    SET(py_take, pt);
    SET(py_put, pp);
    SET(gotask_type, gt);
    SET(getcurrent, gc);
    SET(any_pending, ap);
    SET(park, pk);
    SET(TAKE, tk);
    SET(PUT, pu);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"take", (PyCFunction)(void (*)(void))c_take, METH_FASTCALL | METH_KEYWORDS,
     "take($module, c)\n--\n\n"
     "Take a value from `c`: park (go block) or block (thread) until one arrives.\n\n"
     "Returns None once `c` is closed and drained. (Compiled: gochan/_cchan.c; the reference is ops.py.)"},
    {"put", (PyCFunction)(void (*)(void))c_put, METH_FASTCALL | METH_KEYWORDS,
     "put($module, c, v)\n--\n\n"
     "Put `v` on `c`: park (go block) or block (thread) until accepted.\n\n"
     "Returns True once accepted, False if `c` was already closed. (Compiled: gochan/_cchan.c; the\n"
     "reference is ops.py.)"},
    {"configure_ops", configure_ops, METH_VARARGS,
     "configure_ops(take, put, GoTask, Hub, deque, getcurrent, any_pending, park_compiled, TAKE, PUT): ops.py's "
     "references."},
    {"configure_channel", configure_channel, METH_VARARGS,
     "configure_channel(py_put_with, py_take_with, Chan, PENDING, NOT_READY, Buffer): channel.py's references."},
    {NULL}
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "gochan._cchan",
    "The compiled fast paths of gochan's channel (optional: channel.py is the reference).",
    -1, module_methods,
};

PyMODINIT_FUNC
PyInit__cchan(void)
{
    if (PyType_Ready(&LockType) < 0 || PyType_Ready(&RingType) < 0 || PyType_Ready(&ChanBaseType) < 0)
        return NULL;
#define INTERN(v, s) if ((v = PyUnicode_InternFromString(s)) == NULL) return NULL
    INTERN(s_flag, "flag");
    INTERN(s_wake, "wake");
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    Py_INCREF(&LockType);
    Py_INCREF(&RingType);
    Py_INCREF(&ChanBaseType);
    if (PyModule_AddObject(m, "Lock", (PyObject *)&LockType) < 0
            || PyModule_AddObject(m, "Ring", (PyObject *)&RingType) < 0
            || PyModule_AddObject(m, "ChanBase", (PyObject *)&ChanBaseType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

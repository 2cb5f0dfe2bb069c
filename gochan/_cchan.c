/* gochan._cchan: the compiled fast paths of channel.py and ops.py (optional; see channel.py).

The pure-Python `Chan` in channel.py is the reference and the fallback. When
this module is built, `Chan` derives from `ChanBase` below, which stores the
channel's state (`_lock`, `_buf`, `_takes`, `_puts`, `_closed`, `_rf`) as C
members, so both implementations read and write the same fields: the Python
methods see ordinary attributes, the C code sees struct fields. `put_with`
and `take_with` here handle only the common cases (no transducer, no alts on
either side, an unbuffered channel or a plain fixed/sliding buffer) and call
the Python reference for everything else, after releasing the lock (the
reference takes it again and decides afresh).

`take` and `put` are ops.py's go-block path in C: an exact Chan, in a go
block, with no cancel request pending anywhere (else ops.py's functions, the
reference, run). They park through `hub.park_compiled`, a Python frame of its
own: a C function's caller keeps the function's arguments on its evaluation
stack, where the reaper cannot see them, and that frame tells it they are
there (reaper.py credits them).

Atomicity never relies on the GIL: every read or write of a channel's state
is made under the channel's lock, a `Lock` of this module (what
`channel._new_lock` makes when compiled), whose raw PyThread lock the C code
takes directly. Waking a waiter, parking a go block and every call into
Python happen after the lock is released, as in the reference.
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

/* -------------------------------------------------------------- ChanBase */

typedef struct {
    PyObject_HEAD
    PyObject *lock;   /* _lock: a LockObject (else every operation takes the Python path) */
    PyObject *buf;    /* _buf: None or a buffers.Buffer */
    PyObject *takes;  /* _takes: None or a list of waiters */
    PyObject *puts;   /* _puts: None or a list of (waiter, value) */
    PyObject *closed; /* _closed: True or False */
    PyObject *rf;     /* _rf: None or the transducer state */
    /* What the fast paths last read of `buf` (a buffer's `plain`, `q` and `limit` never change
       after it is made): `cbuf` is the buffer they describe, `cq` its deque if plain, else NULL. */
    PyObject *cbuf;
    PyObject *cq;
    Py_ssize_t climit;
} ChanBase;

static PyTypeObject ChanBaseType;

/* Configured by channel.py / ops.py (see `configure`). */
static PyObject *py_put_with;   /* the reference Chan.put_with */
static PyObject *py_take_with;  /* the reference Chan.take_with */
static PyObject *chan_type;     /* channel.Chan: the exact type take/put accept */
static PyObject *PENDING;       /* protocols.PENDING */
static PyObject *py_take;       /* the reference ops.take */
static PyObject *py_put;        /* the reference ops.put */
static PyObject *gotask_type;   /* hub.GoTask */
static PyObject *getcurrent;    /* greenlet.getcurrent */
static PyObject *any_pending;   /* procs.any_pending: non-empty while a cancel request is pending */
static PyObject *park;          /* hub.park_compiled(task, op, waiting[, value]) */
static PyObject *TAKE, *PUT;    /* protocols.TAKE / PUT: park reasons */

static PyObject *s_flag, *s_wake, *s_plain, *s_q, *s_limit, *s_append, *s_popleft;

static int
ChanBase_traverse(ChanBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->lock);
    Py_VISIT(self->buf);
    Py_VISIT(self->takes);
    Py_VISIT(self->puts);
    Py_VISIT(self->closed);
    Py_VISIT(self->rf);
    Py_VISIT(self->cbuf);
    Py_VISIT(self->cq);
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
    Py_CLEAR(self->cbuf);
    Py_CLEAR(self->cq);
    return 0;
}

static void
ChanBase_dealloc(ChanBase *self)
{
    PyObject_GC_UnTrack(self);
    ChanBase_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#define IS_NONE(o) ((o) == NULL || (o) == Py_None)

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
    Py_ssize_t offset = flag_way(tp);
    tag = tp->tp_version_tag;
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
    PyObject *f = PyObject_GetAttr(waiter, s_flag);
    if (f == NULL)
        return -1;
    int r = f == Py_None;
    Py_DECREF(f);
    return r;
}

/* A plain buffer's deque (a new reference) and limit, or NULL (and no error) if `buf` is not
   plain. Read once per buffer and kept (see ChanBase.cbuf). Under the channel's lock. */
static PyObject *
plain_storage(ChanBase *self, PyObject *buf, Py_ssize_t *limit)
{
    if (self->cbuf != buf) {
        PyObject *q = NULL;
        Py_ssize_t lim = 0;
        PyObject *p = PyObject_GetAttr(buf, s_plain);
        if (p == NULL)
            goto fail;
        int plain = p == Py_True;
        Py_DECREF(p);
        if (plain) {
            PyObject *l = PyObject_GetAttr(buf, s_limit);
            if (l == NULL)
                goto fail;
            lim = PyLong_AsSsize_t(l);
            Py_DECREF(l);
            if (lim == -1 && PyErr_Occurred())
                goto fail;
            q = PyObject_GetAttr(buf, s_q);
            if (q == NULL)
                goto fail;
        }
        Py_INCREF(buf);
        Py_XSETREF(self->cbuf, buf);
        Py_XSETREF(self->cq, q);
        self->climit = lim;
    }
    if (self->cq == NULL)
        return NULL;
    *limit = self->climit;
    Py_INCREF(self->cq);
    return self->cq;
fail:
    PyErr_Clear();
    return NULL;
}

static inline Py_ssize_t
list_len(PyObject *l)
{
    return IS_NONE(l) || !PyList_CheckExact(l) ? -1 : PyList_GET_SIZE(l);
}

static PyObject *
wake(PyObject *waiter, PyObject *value)
{
    return PyObject_CallMethodOneArg(waiter, s_wake, value);
}

/* The common cases of put_with (see the module comment): a new reference to the result, or
   NULL with no error set when the reference must decide, or NULL with an error. */
static PyObject *
fast_put(ChanBase *self, PyObject *waiter, PyObject *val, int blockable)
{
    if (!IS_NONE(self->rf) || self->lock == NULL || !Py_IS_TYPE(self->lock, &LockType))
        return NULL;
    int pw = plain_waiter(waiter);
    if (pw <= 0)
        return NULL; /* an alts (or an error: the reference will meet it too) */
    LockObject *lock = (LockObject *)self->lock;
    PyObject *buf = self->buf;
    if (!IS_NONE(buf)) {
        Py_ssize_t limit;
        PyObject *result = NULL;
        lock_take(lock);
        PyObject *q = self->buf == buf ? plain_storage(self, buf, &limit) : NULL;
        if (q == NULL) {
            lock_give(lock);
            return NULL;
        }
        if (self->closed == Py_False && list_len(self->takes) <= 0) {
            Py_ssize_t n = PyObject_Size(q);
            if (n >= 0 && n < limit) {
                PyObject *r = PyObject_CallMethodOneArg(q, s_append, val);
                if (r != NULL) {
                    Py_DECREF(r);
                    result = Py_True;
                    Py_INCREF(result);
                }
            }
        }
        lock_give(lock);
        Py_DECREF(q);
        if (result == NULL && PyErr_Occurred())
            return NULL;
        return result;
    }
    lock_take(lock);
    if (!IS_NONE(self->buf) || self->closed != Py_False) {
        lock_give(lock);
        return NULL;
    }
    Py_ssize_t nt = list_len(self->takes);
    if (nt > 0) {
        PyObject *t = PyList_GET_ITEM(self->takes, 0);
        Py_INCREF(t);
        int tp = plain_waiter(t); /* a slot or class attribute read: runs no Python code */
        if (tp == 1 && PyList_SetSlice(self->takes, 0, 1, NULL) == 0) {
            lock_give(lock);
            PyObject *r = wake(t, val);
            Py_DECREF(t);
            if (r == NULL)
                return NULL;
            Py_DECREF(r);
            Py_RETURN_TRUE;
        }
        lock_give(lock);
        Py_DECREF(t);
        PyErr_Clear();
        return NULL;
    }
    Py_ssize_t np = list_len(self->puts);
    if (nt <= 0 && blockable && np >= 0 && np < MAX_PENDING) {
        PyObject *pair = PyTuple_Pack(2, waiter, val);
        if (pair != NULL && PyList_Append(self->puts, pair) == 0) {
            lock_give(lock);
            Py_DECREF(pair);
            Py_INCREF(PENDING);
            return PENDING;
        }
        Py_XDECREF(pair);
        lock_give(lock);
        return NULL;
    }
    lock_give(lock);
    return NULL;
}

static PyObject *
fast_take(ChanBase *self, PyObject *waiter, int blockable)
{
    if (!IS_NONE(self->rf) || self->lock == NULL || !Py_IS_TYPE(self->lock, &LockType))
        return NULL;
    int pw = plain_waiter(waiter);
    if (pw <= 0)
        return NULL;
    LockObject *lock = (LockObject *)self->lock;
    PyObject *buf = self->buf;
    if (!IS_NONE(buf)) {
        Py_ssize_t limit;
        PyObject *result = NULL;
        lock_take(lock);
        PyObject *q = self->buf == buf ? plain_storage(self, buf, &limit) : NULL;
        if (q == NULL) {
            lock_give(lock);
            return NULL;
        }
        if (list_len(self->puts) <= 0) {
            Py_ssize_t n = PyObject_Size(q);
            if (n > 0)
                result = PyObject_CallMethodNoArgs(q, s_popleft);
        }
        lock_give(lock);
        Py_DECREF(q);
        return result;
    }
    lock_take(lock);
    if (!IS_NONE(self->buf)) {
        lock_give(lock);
        return NULL;
    }
    Py_ssize_t np = list_len(self->puts);
    if (np > 0) {
        PyObject *pair = PyList_GET_ITEM(self->puts, 0);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            lock_give(lock);
            return NULL;
        }
        Py_INCREF(pair);
        int pp = plain_waiter(PyTuple_GET_ITEM(pair, 0));
        if (pp == 1 && PyList_SetSlice(self->puts, 0, 1, NULL) == 0) {
            lock_give(lock);
            PyObject *r = wake(PyTuple_GET_ITEM(pair, 0), Py_True);
            PyObject *v = PyTuple_GET_ITEM(pair, 1);
            Py_INCREF(v);
            Py_DECREF(pair);
            if (r == NULL) {
                Py_DECREF(v);
                return NULL;
            }
            Py_DECREF(r);
            return v;
        }
        lock_give(lock);
        Py_DECREF(pair);
        PyErr_Clear();
        return NULL;
    }
    Py_ssize_t nt = list_len(self->takes);
    if (np <= 0 && blockable && self->closed == Py_False && nt >= 0 && nt < MAX_PENDING) {
        if (PyList_Append(self->takes, waiter) == 0) {
            lock_give(lock);
            Py_INCREF(PENDING);
            return PENDING;
        }
        lock_give(lock);
        return NULL;
    }
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
    PyObject *g = PyObject_CallNoArgs(getcurrent);
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
    PyObject *g = PyObject_CallNoArgs(getcurrent);
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
    PyObject *ptw, *ptk, *ct, *pend;
    if (!PyArg_ParseTuple(args, "OOOO", &ptw, &ptk, &ct, &pend))
        return NULL;
    SET(py_put_with, ptw);
    SET(py_take_with, ptk);
    SET(chan_type, ct);
    SET(PENDING, pend);
    Py_RETURN_NONE;
}

static PyObject *
configure_ops(PyObject *module, PyObject *args)
{
    PyObject *pt, *pp, *gt, *gc, *ap, *pk, *tk, *pu;
    if (!PyArg_ParseTuple(args, "OOOOO!OOO", &pt, &pp, &gt, &gc, &PyList_Type, &ap, &pk, &tk, &pu))
        return NULL;
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
     "configure_ops(take, put, GoTask, getcurrent, any_pending, park_compiled, TAKE, PUT): ops.py's references."},
    {"configure_channel", configure_channel, METH_VARARGS,
     "configure_channel(py_put_with, py_take_with, Chan, PENDING): channel.py's references."},
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
    if (PyType_Ready(&LockType) < 0 || PyType_Ready(&ChanBaseType) < 0)
        return NULL;
#define INTERN(v, s) if ((v = PyUnicode_InternFromString(s)) == NULL) return NULL
    INTERN(s_flag, "flag");
    INTERN(s_wake, "wake");
    INTERN(s_plain, "plain");
    INTERN(s_q, "q");
    INTERN(s_limit, "limit");
    INTERN(s_append, "append");
    INTERN(s_popleft, "popleft");
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
#ifdef Py_GIL_DISABLED
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    Py_INCREF(&LockType);
    Py_INCREF(&ChanBaseType);
    if (PyModule_AddObject(m, "Lock", (PyObject *)&LockType) < 0
            || PyModule_AddObject(m, "ChanBase", (PyObject *)&ChanBaseType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

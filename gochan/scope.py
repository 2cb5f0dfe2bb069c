"""Scopes: a group of processes that ends together, and errors that reach their owner.

    with scope(timeout_ms=5000) as s:
        a = s.go(fetch, url1)
        b = s.thread(parse, path)
    # here every process started in s has finished

trio's nursery and cancel scope in one object, on core.async's shape
(processes are go blocks and threads, results come back on their channels):

- Leaving the `with` waits for every process started with `s.go`/`s.thread`
  (parking a go block, blocking a thread), including those they started in
  `s` meanwhile.
- The first uncaught error of a child cancels its siblings and the body,
  and propagates out of the `with`; several become an `ExceptionGroup`
  (the `exceptiongroup` backport on 3.10). Children's errors go to the
  scope, never to the exception handler.
- `s.cancel()` and the deadline cancel the children, the body and the
  scopes opened inside them. The `Cancelled` a scope causes carries it
  (`exc.scope`), so only that scope absorbs it: after `s.cancel()` the
  `with` exits normally, after the deadline it raises `TimeoutError`, and a
  cancellation from outside (an enclosing scope, `cancel(ch)`) passes
  through to its owner.
- The current scope travels in a contextvar, which go blocks and threads
  copy from their spawner: a scope opened inside a child is nested in the
  child's scope and cancelled with it.

Why the body is a process record too: cancelling "the block" means raising
`Cancelled` in whatever runs the `with`; in a go block or `thread` body
that is its own record, on any other thread (the main thread) the scope
gives the thread a record for the duration.
"""
from __future__ import annotations

import sys
import threading
from contextvars import ContextVar, Token
from typing import Any, Callable, List, Optional, ParamSpec, Set, TypeVar

from greenlet import getcurrent

from .channel import Chan, chan
from .errors import Cancelled
from .hub import GoTask
from .ops import take
from .process import spawn_go, spawn_thread
from .procs import DONE, Proc, ThreadProc, current_thread_proc, set_thread_proc, void
from .protocols import PENDING
from .timers import timeout
from .waiters import CallbackWaiter

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pragma: no cover - 3.10
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Scope", "scope", "current_scope"]

T = TypeVar("T")
P = ParamSpec("P")

_NEW, _OPEN, _EXITING, _CLOSED = "new", "open", "exiting", "closed"

_current: ContextVar[Optional["Scope"]] = ContextVar("gochan.scope", default=None)


def current_scope() -> Optional["Scope"]:
    """The innermost scope open around the caller (inherited by go blocks and threads), or None."""
    return _current.get()


class Scope:
    """A group of processes; see the module docstring. Made by `scope()`, entered once."""

    def __init__(self, timeout_ms: Optional[float] = None) -> None:
        if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float))
                                       or not timeout_ms >= 0):
            raise ValueError(f"scope: timeout_ms must be a number >= 0 or None, got {timeout_ms!r}")
        self.timeout_ms = timeout_ms
        #: The enclosing scope when this one was entered (cancelling it cancels this one).
        self.parent: Optional[Scope] = None
        #: True once `cancel()` was called, the deadline passed or a child failed.
        self.cancel_called = False
        #: True once the deadline passed while the scope was open.
        self.timed_out = False
        self._lock = threading.Lock()
        self._state = _NEW
        self._live = 0  # children started and not yet exited
        self._children: Set[Proc] = set()
        self._nested: Set[Scope] = set()
        self._errors: List[BaseException] = []
        self._body: Optional[Proc] = None
        self._own_body = False
        self._token: Optional[Token[Optional[Scope]]] = None
        self._done: Optional[Chan[Any]] = None  # closed when the last child exits while __exit__ waits
        self._timer: Any = None  # (timeout channel, its callback waiter) while the deadline is armed

    # ------------------------------------------------------------ children
    def go(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
        """`go(fn, *args, **kwargs)` as a child of this scope: returns its result channel."""
        return self._start(spawn_go, fn, args, kwargs)

    def thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Chan[T]:
        """`thread(fn, *args, **kwargs)` as a child of this scope: returns its result channel."""
        return self._start(spawn_thread, fn, args, kwargs)

    def _start(self, spawner: Callable[..., Chan[T]], fn: Any, args: Any, kwargs: Any) -> Chan[T]:
        with self._lock:
            if self._state is not _OPEN and self._state is not _EXITING:
                raise RuntimeError(f"scope: start children only while the scope is open (it is {self._state})")
            self._live += 1  # before the child exists: it may exit before we see its record
            cancelled = self.cancel_called
        try:
            ch = spawner(fn, args, kwargs, self)
        except BaseException:
            self._child_gone(None, None)
            raise
        rec = ch.proc
        if cancelled:
            rec.cancel(self)  # it never starts
        else:
            with self._lock:
                if rec.state != DONE:  # not already exited
                    self._children.add(rec)
        return ch

    def child_exited(self, rec: Proc, error: Optional[BaseException]) -> None:
        """Called as each child ends (on its own thread), with its uncaught error or None."""
        self._child_gone(rec, error)

    def _child_gone(self, rec: Optional[Proc], error: Optional[BaseException]) -> None:
        with self._lock:
            if rec is not None:
                self._children.discard(rec)
            self._live -= 1
            if error is not None:
                self._errors.append(error)
            done = self._done if self._live == 0 else None
            if done is not None:
                self._done = None
        if error is not None:
            self._cancel(self)
        if done is not None:
            done.close()

    # ------------------------------------------------------------ cancelling
    def cancel(self) -> None:
        """Cancel every process of the scope, the scopes inside them and the `with` body;
        the `with` then exits normally. Harmless once the scope has exited."""
        self._cancel(self)

    def _cancel(self, tag: Any, body: bool = True) -> None:
        with self._lock:
            if self._state is _CLOSED or self._state is _NEW:
                return
            self.cancel_called = True
            kids = list(self._children)
            nested = list(self._nested)
            target = self._body if body and self._state is _OPEN else None
        for rec in kids:
            rec.cancel(tag)  # type: ignore[attr-defined]
        if target is not None:
            target.cancel(tag)  # type: ignore[attr-defined]
        for s in nested:
            s._cancel(tag)

    def _expire(self, _: Any) -> None:
        with self._lock:
            if self._state is _CLOSED:
                return
            self.timed_out = True
        self._cancel(self)

    # ------------------------------------------------------------ the with block
    def __enter__(self) -> "Scope":
        with self._lock:
            if self._state is not _NEW:
                raise RuntimeError("scope: a Scope can be entered only once")
            self._state = _OPEN
        g = getcurrent()
        body: Optional[Proc] = g.proc if g.__class__ is GoTask else current_thread_proc()
        if body is None:  # an ordinary thread: give it a record while the block runs
            rec = ThreadProc()
            rec.start()
            body, self._own_body = rec, True
        self._body = body
        parent = _current.get()
        self._token = _current.set(self)
        if parent is not None:
            with parent._lock:
                if parent._state is _CLOSED:
                    parent = None
                else:
                    parent._nested.add(self)
                    cancelled = parent.cancel_called
            self.parent = parent
            if parent is not None and cancelled:
                self._cancel(parent)
        if self.timeout_ms is not None:
            c = timeout(self.timeout_ms)
            w = CallbackWaiter(self._expire)
            if c.take_with(w) is PENDING:
                self._timer = (c, w)
            else:
                self._expire(None)
        return self

    def __exit__(self, et: Any, exc: Optional[BaseException], tb: Any) -> Optional[bool]:
        own = isinstance(exc, Cancelled) and exc.scope is self
        if exc is not None and not own:
            self._cancel(self, body=False)  # the body failed or was cancelled from outside
        with self._lock:
            self._state = _EXITING
        outer: Optional[Cancelled] = None
        while True:
            with self._lock:
                if self._live == 0:
                    self._state = _CLOSED
                    break
                done = self._done = chan()
            try:
                take(done)
            except Cancelled as c:  # cancelled while waiting for the children: they end first
                if c.scope is not self and outer is None:
                    outer = c
                self._cancel(self, body=False)
        self._close()
        errors = list(self._errors)
        if exc is not None and not isinstance(exc, Cancelled):
            if not errors:
                return False  # the body's own error, as it is
            errors.append(exc)
        if errors:
            if len(errors) == 1:
                raise errors[0]
            raise BaseExceptionGroup("errors in a gochan scope", errors)
        if outer is not None:
            raise outer
        if exc is not None and not own:
            return False  # cancelled from outside: that canceller's to catch
        if self.timed_out:
            raise TimeoutError(f"scope: deadline of {self.timeout_ms} ms passed")
        return True if own else None

    def _close(self) -> None:
        """The block and every child have ended: disarm, unlink, restore the thread's record."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer[0].withdraw(timer[1])
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # exited in another context than it was entered in: leave it
                pass
            self._token = None
        parent = self.parent
        if parent is not None:
            with parent._lock:
                parent._nested.discard(self)
        body = self._body
        self._body = None
        if body is not None:
            void(body, self)  # a request of ours not yet delivered must not fire after the block
            if self._own_body:
                body.finish()  # type: ignore[attr-defined]
                set_thread_proc(None)

    def __repr__(self) -> str:
        return (f"<Scope {self._state} live={self._live} cancel_called={self.cancel_called}"
                f"{' timed_out' if self.timed_out else ''}>")


def scope(timeout_ms: Optional[float] = None) -> Scope:
    """A scope (see the module docstring): `with scope() as s:` then `s.go(...)`, `s.thread(...)`."""
    return Scope(timeout_ms)

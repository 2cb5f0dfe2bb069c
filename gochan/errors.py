"""Errors gochan raises, and the handler that receives exceptions no caller can catch.

Exceptions escaping a go block, a `thread` body, a `put_async`/`take_async`
callback or a channel transducer without an `ex_handler` have nobody to
propagate to; they go to one process-wide handler instead of vanishing.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

__all__ = ["Cancelled", "TooManyPendingError", "set_exception_handler", "report_exception"]

logger = logging.getLogger("gochan")

#: At most this many puts, and this many takes, may be pending on one channel.
MAX_PENDING = 1024


class Cancelled(BaseException):
    """Raised in a process (go block or `thread` body) that was cancelled: by `cancel(ch)`, by
    its scope, or by `shutdown()`; at the gochan operation it is parked or blocked in, or at
    its next one.

    A `BaseException`, so `except Exception` does not swallow it; a process
    that ends with it closes its channel without a value and is not reported.
    `scope` is the `Scope` that cancelled it, None for `cancel(ch)` and shutdown.
    """

    scope: object = None


def none_put_error(fname: str) -> ValueError:
    """The error of a put of None (`put`, `offer`, `put_async`, `Chan.put`), naming the call."""
    return ValueError(f"{fname}: v must not be None (None means 'closed' on a take)")


class TooManyPendingError(RuntimeError):
    """Raised when an operation would be the 1025th pending put or take on a channel.

    The limit is core.async's: it turns an unbounded `put_async` loop into a
    clear error instead of unbounded memory. Nothing already pending is lost.
    """


ExceptionHandler = Callable[[BaseException], object]
_handler: Optional[ExceptionHandler] = None


def set_exception_handler(fn: Optional[ExceptionHandler]) -> None:
    """Route uncaught go-block, thread, callback and transducer exceptions to `fn(exc)`.

    `None` restores the default, which logs the traceback to the `gochan`
    logger. The handler's return value is ignored; an exception it raises is
    logged, never propagated.
    """
    global _handler
    if fn is not None and not callable(fn):
        raise TypeError(f"set_exception_handler: fn must be callable or None, got {fn!r}")
    _handler = fn


def report_exception(exc: BaseException) -> None:
    """Hand `exc` to the exception handler; never raises."""
    handler = _handler
    if handler is not None:
        try:
            handler(exc)
            return
        except BaseException as failure:  # the handler must not take the hub down
            logger.error("gochan exception handler %r raised", handler,
                         exc_info=(type(failure), failure, failure.__traceback__))
    logger.error("Uncaught exception in gochan: %r", exc,
                 exc_info=(type(exc), exc, exc.__traceback__))


def apply_ex_handler(exc: Exception, handler: Optional[Callable[[BaseException], Any]],
                     add: Callable[[Any], Any], propagate: bool = False) -> None:
    """A transducer raised `exc`: the handler's non-None result is `add`ed in the value's place.

    Without a handler `exc` is reported. A handler that raises propagates if
    `propagate` (to a channel's putter), else its error is reported. Shared by
    channels with a transducer and the pipelines.
    """
    if handler is None:
        report_exception(exc)
        return
    if propagate:
        v = handler(exc)
    else:
        try:
            v = handler(exc)
        except Exception as failure:
            report_exception(failure)
            return
    if v is not None:
        add(v)

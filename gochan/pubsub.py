"""Pub/sub: a source channel routed by topic to subscribers, core.async's `pub`.

A go block takes each value, computes `topic_fn(value)` and puts the value
on that topic's channel, which a `Mult` copies to the topic's subscribers.
A topic without subscribers (no topic channel yet) drops its values. Topic
channels are unbuffered unless `buf_fn(topic)` says otherwise, and the pub
loop puts to them one at a time, so a slow subscriber of one topic
eventually holds back every topic. A buffer per topic (`buf_fn`) only
postpones that: topics are decoupled until the slow topic's buffer fills,
and then the pub loop waits on it as before.

When the source closes every topic channel is closed (which closes the
subscribers added with `close=True`) and the go block ends.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Generic, Hashable, List, Optional, TypeVar

from .channel import Chan, chan
from .mult import Mult, mult, tap, untap, untap_all
from .ops import put, take
from .process import go

__all__ = ["Pub", "pub", "sub", "unsub", "unsub_all"]

T = TypeVar("T")


class Pub(Generic[T]):
    """A pub(lication) of a source channel: create one with `pub(ch, topic_fn)`; see `sub`."""

    __slots__ = ("_source", "_topic_fn", "_buf_fn", "_mults", "_lock", "_done")

    def __init__(self, source: Chan[T], topic_fn: Callable[[T], Hashable],
                 buf_fn: Optional[Callable[[Hashable], Any]]) -> None:
        self._source = source
        self._topic_fn = topic_fn
        self._buf_fn = buf_fn
        self._mults: Dict[Hashable, Mult[T]] = {}
        self._lock = threading.RLock()  # buf_fn runs under it and may call back into the pub
        self._done = False

    @property
    def source(self) -> Chan[T]:
        """The channel this pub routes."""
        return self._source

    def _ensure_mult(self, topic: Hashable) -> Mult[T]:
        with self._lock:
            m = self._mults.get(topic)
            if m is None:
                buf = None if self._buf_fn is None else self._buf_fn(topic)
                try:
                    topic_ch: Chan[T] = chan(buf)
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"sub: buf_fn({topic!r}) gave a bad buffer: {exc}") from None
                m = mult(topic_ch)
                self._mults[topic] = m
                if self._done:
                    topic_ch.close()  # the source already closed: end the new topic at once
            return m

    def _get(self, topic: Hashable) -> Optional[Mult[T]]:
        with self._lock:
            return self._mults.get(topic)

    def _forget(self, topic: Hashable, m: Mult[T]) -> None:
        with self._lock:
            if self._mults.get(topic) is m:
                del self._mults[topic]

    def _finish(self) -> List[Mult[T]]:
        with self._lock:
            self._done = True
            return list(self._mults.values())

    def __repr__(self) -> str:
        with self._lock:
            topics = list(self._mults)
        state = "done" if self._done else "running"
        return f"<Pub 0x{id(self):x} of {self._source!r} topics={topics!r} {state}>"


def _pub_loop(p: Pub[Any]) -> None:
    src = p._source
    topic_fn = p._topic_fn
    try:
        while True:
            v = take(src)
            if v is None:
                return
            topic = topic_fn(v)
            m = p._get(topic)
            if m is not None and not put(m.source, v):
                p._forget(topic, m)  # its topic channel was closed
    finally:
        for m in p._finish():
            m.source.close()


def pub(ch: Chan[T], topic_fn: Callable[[T], Hashable],
        buf_fn: Optional[Callable[[Hashable], Any]] = None) -> Pub[T]:
    """A pub of `ch`: each value goes to the subscribers of topic `topic_fn(value)` (see `sub`).

    Topics are dict keys (hashable; None is a valid topic). Each topic has
    its own channel, `chan(buf_fn(topic))` (unbuffered by default), copied to
    its subscribers by a mult: each value waits until every subscriber of
    its topic has accepted it. Values of a topic without subscribers are
    dropped. If `topic_fn` raises, the exception is reported and the pub
    ends as if `ch` had closed.

    >>> p = pub(src, lambda x: "str" if isinstance(x, str) else "int")
    >>> strs = sub(p, "str", chan(5))
    """
    if not isinstance(ch, Chan):
        raise TypeError(f"pub: ch must be a Chan, got {ch!r}")
    if not callable(topic_fn):
        raise TypeError(f"pub: topic_fn must be callable, got {topic_fn!r}")
    if buf_fn is not None and not callable(buf_fn):
        raise TypeError(f"pub: buf_fn must be callable or None, got {buf_fn!r}")
    p: Pub[T] = Pub(ch, topic_fn, buf_fn)
    go(_pub_loop, p)
    return p


def _check_pub(fname: str, p: Any) -> None:
    if not isinstance(p, Pub):
        raise TypeError(f"{fname}: p must be a Pub (from pub()), got {p!r}")


def sub(p: Pub[T], topic: Hashable, ch: Chan[T], close: bool = True) -> Chan[T]:
    """Subscribe `ch` to `topic` of pub `p`; returns `ch`.

    `ch` is closed when the source closes, unless `close` is false.

    >>> ints = sub(p, "int", chan(5))
    """
    _check_pub("sub", p)
    if not isinstance(ch, Chan):
        raise TypeError(f"sub: ch must be a Chan, got {ch!r}")
    return tap(p._ensure_mult(topic), ch, close)


def unsub(p: Pub[T], topic: Hashable, ch: Chan[T]) -> None:
    """Unsubscribe `ch` from `topic` of pub `p` (a no-op if it was not subscribed).

    >>> unsub(p, "int", ints)
    """
    _check_pub("unsub", p)
    if not isinstance(ch, Chan):
        raise TypeError(f"unsub: ch must be a Chan, got {ch!r}")
    m = p._get(topic)
    if m is not None:
        untap(m, ch)


def unsub_all(p: Pub[Any], topic: Optional[Hashable] = None) -> None:
    """Unsubscribe every channel of `topic` of pub `p`, or of every topic when `topic` is None.

    The subscribers are neither closed nor sent anything more. (A topic that
    is None can only be cleared with the rest, by `unsub_all(p)`.)

    >>> unsub_all(p, "int")
    """
    _check_pub("unsub_all", p)
    with p._lock:
        if topic is None:
            gone = list(p._mults.values())
            p._mults.clear()
        else:
            m = p._mults.pop(topic, None)
            gone = [] if m is None else [m]
    for m in gone:
        # End the forgotten topic's mult without closing its subscribers
        # (core.async leaves that mult's go block parked forever).
        untap_all(m)
        m.source.close()

"""Checked by `make lint` (mypy --strict), never run: the types users see.

`go` and `thread` return `Chan[T]` for a function returning `T`; channels,
`take` and `alts` keep their element type.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from typing_extensions import assert_type

import gochan
from gochan import Cancelled, Chan, ChanStats, Scope, alts, cancel, chan, go, go_fn, put, scope, stats, take, thread


def answer() -> int:
    return 42


def greet(name: str, times: int = 1) -> str:
    return name * times


assert_type(go(answer), Chan[int])
assert_type(go(greet, "hi", times=2), Chan[str])
assert_type(thread(greet, "hi"), Chan[str])
assert_type(take(go(answer)), Optional[int])


@go_fn
def later(x: float) -> float:
    return x * 2


assert_type(later(1.5), Chan[float])

c: Chan[bytes] = chan(4)
assert_type(put(c, b"x"), bool)
assert_type(take(c), Optional[bytes])
assert_type(alts([c, gochan.timeout(10)]), Tuple[Any, Any])
assert_type(stats(c), ChanStats)

assert_type(cancel(go(answer)), bool)
with scope(timeout_ms=100) as s:
    assert_type(s, Scope)
    assert_type(s.go(greet, "hi", times=2), Chan[str])
    assert_type(s.thread(answer), Chan[int])
    s.cancel()
try:
    pass
except Cancelled as exc:
    assert_type(exc.scope, object)


# gochan.aio: the same element types through coroutines and awaitables
async def _aio_types(c: Chan[int]) -> None:
    from gochan import aio

    async def fetch() -> str:
        return "x"

    assert_type(await aio.take(c), Optional[int])
    assert_type(await aio.put(c, 1), bool)
    assert_type(await aio.alts([c]), Tuple[Any, Any])
    async for v in c:
        assert_type(v, int)
    assert_type(aio.await_(fetch()), str)
    assert_type(aio.spawn(fetch()), Chan[str])

"""gochan: Clojure's core.async for Python, on greenlet.

Channels, go blocks that park at any call depth (no async/await), alts,
timeouts, transducers and core.async's combinators. See README.md.
"""
from . import reaper as _reaper  # noqa: F401  (plugs into every runtime's hubs)
from . import xf
from .buffers import buffer, dropping_buffer, is_unblocking_buffer, sliding_buffer
from .cancel import cancel
from .channel import Chan, ChanStats, chan, promise_chan, stats
from .debug import GoBlockInfo, dump
from .errors import Cancelled, TooManyPendingError, set_exception_handler
from .mix import Mix, admix, mix, solo_mode, toggle, unmix, unmix_all
from .mult import Mult, mult, tap, untap, untap_all
from .ops import DEFAULT, NOTHING, alt, alts, close, offer, poll, put, put_async, take, take_async
from .pipes import (
    into,
    map,  # noqa: F401 - gochan.map, left out of __all__ (it shadows the builtin)
    merge,
    onto_chan,
    onto_chan_thread,
    pipe,
    pipeline,
    pipeline_async,
    pipeline_blocking,
    reduce,
    split,
    take_n,
    to_chan,
    transduce,
)
from .process import go, go_fn, thread
from .pubsub import Pub, pub, sub, unsub, unsub_all
from .readiness import readable, writable
from .runtime import shutdown
from .scope import Scope, scope
from .timers import sleep, timeout
from .watchdog import set_blocking_threshold

__all__ = [
    "Chan", "ChanStats", "chan", "promise_chan", "buffer", "dropping_buffer", "sliding_buffer",
    "is_unblocking_buffer", "close", "stats",
    "take", "put", "alts", "alt", "offer", "poll", "put_async", "take_async", "DEFAULT", "NOTHING",
    "go", "go_fn", "thread", "timeout", "sleep", "shutdown", "cancel", "Cancelled", "scope", "Scope",
    "readable", "writable",
    "TooManyPendingError", "set_exception_handler", "set_blocking_threshold", "dump", "GoBlockInfo", "xf",
    "pipe", "pipeline", "pipeline_blocking", "pipeline_async", "onto_chan", "onto_chan_thread",
    "to_chan", "merge", "into", "reduce", "transduce", "split", "take_n",
    "Mult", "mult", "tap", "untap", "untap_all", "Pub", "pub", "sub", "unsub", "unsub_all",
    "Mix", "mix", "admix", "unmix", "unmix_all", "toggle", "solo_mode",
]

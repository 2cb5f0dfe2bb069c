"""gochan: Clojure's core.async for Python, on greenlet.

Channels, go blocks that park at any call depth (no async/await), alts,
timeouts, transducers and core.async's combinators. See README.md.
"""
from .buffers import buffer, dropping_buffer, is_unblocking_buffer, sliding_buffer
from .channel import Chan, chan, promise_chan
from .debug import dump
from .watchdog import set_blocking_threshold
from . import xf
from .errors import TooManyPendingError, set_exception_handler
from .ops import DEFAULT, NOTHING, alt, alts, close, offer, poll, put, put_async, take, take_async
from .process import go, go_fn, thread

__all__ = [
    "Chan", "chan", "promise_chan", "buffer", "dropping_buffer", "sliding_buffer",
    "is_unblocking_buffer", "close",
    "take", "put", "alts", "alt", "offer", "poll", "put_async", "take_async", "DEFAULT", "NOTHING",
    "go", "go_fn", "thread",
    "TooManyPendingError", "set_exception_handler", "set_blocking_threshold", "dump", "xf",
]

# Modules of other issues register here, one line each:
# --- extensions ---
from .pipes import (into, merge, onto_chan, onto_chan_thread, pipe, pipeline, pipeline_async,  # noqa: E402
                    pipeline_blocking, reduce, split, take_n, to_chan, transduce)
from .mult import Mult, mult, tap, untap, untap_all  # noqa: E402
from .pubsub import Pub, pub, sub, unsub, unsub_all  # noqa: E402
from .mix import Mix, admix, mix, solo_mode, toggle, unmix, unmix_all  # noqa: E402
__all__ += ["pipe", "pipeline", "pipeline_blocking", "pipeline_async", "onto_chan", "onto_chan_thread",
            "to_chan", "merge", "into", "reduce", "transduce", "split", "take_n",
            "Mult", "mult", "tap", "untap", "untap_all", "Pub", "pub", "sub", "unsub", "unsub_all",
            "Mix", "mix", "admix", "unmix", "unmix_all", "toggle", "solo_mode"]
from .pipes import map  # noqa: E402,A004 - gochan.map, left out of __all__ (shadows the builtin)
from .timers import sleep, timeout  # noqa: E402
__all__ += ["timeout", "sleep"]

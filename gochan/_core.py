"""Which channel core runs: the optional compiled one (gochan/_cchan.c) or the pure-Python reference.

`cchan` is the compiled module, or None when it was not built, cannot be
imported, or `GOCHAN_PURE` is set; `compiled` says which. buffers.py and
channel.py both read this, so they always agree.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["cchan", "compiled"]

cchan: Any = None
if not os.environ.get("GOCHAN_PURE"):
    try:
        from . import _cchan as cchan
    except ImportError:
        cchan = None
#: True when the compiled channel core is running, False on the pure-Python fallback.
compiled = cchan is not None

"""Mix: many input channels merged onto one output, with per-input mute, pause and solo.

A go block `alts` over the inputs it should read plus a private `change`
channel (a sliding buffer of 1); every admix/unmix/toggle/solo_mode updates
the state under a lock and pokes `change`, and the loop recomputes what to
read. Per input: `mute` (taken but not forwarded), `pause` (not taken),
`solo` (when any input is soloed only soloed inputs are forwarded; the
others are muted, or paused with `solo_mode(m, "pause")`). An input that
closes is removed. There is no limit on the number of inputs: alts puts one
pending take on each input, never more than one on a channel (ASYNC-145).

The go block ends when `out` is closed, noticed at its next wake-up (a
value, an input closing, or any call on the mix); core.async's mix only
notices when a put to `out` fails.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, FrozenSet, List, Mapping, Tuple

from .buffers import sliding_buffer
from .channel import Chan, chan
from .ops import alts, put, put_async
from .process import go

__all__ = ["Mix", "mix", "admix", "unmix", "unmix_all", "toggle", "solo_mode"]

_ATTRS = ("mute", "pause", "solo")
_SOLO_MODES = ("mute", "pause")


class Mix:
    """A mix onto an output channel; create one with `mix(out)`, add inputs with `admix`."""

    __slots__ = ("_out", "_lock", "_inputs", "_solo_mode", "_change", "_done")

    def __init__(self, out: Chan[Any]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._inputs: Dict[Chan[Any], Dict[str, bool]] = {}  # input -> its attrs
        self._solo_mode = "mute"
        self._change: Chan[Any] = chan(sliding_buffer(1))
        self._done = False

    @property
    def out(self) -> Chan[Any]:
        """The output channel."""
        return self._out

    def _changed(self) -> None:
        put_async(self._change, True)

    def _state(self) -> Tuple[FrozenSet[Chan[Any]], FrozenSet[Chan[Any]], List[Chan[Any]]]:
        """(soloed inputs, muted inputs, channels to read) from the current attrs."""
        with self._lock:
            inputs = list(self._inputs.items())
            mode = self._solo_mode
        solos = frozenset(c for c, a in inputs if a.get("solo"))
        mutes = frozenset(c for c, a in inputs if a.get("mute"))
        if solos and mode == "pause":
            reads = [c for c, _ in inputs if c in solos]
        else:
            # A soloed input is read even if paused: its pause is ignored
            # (core.async's docstring; its code skips it in mute mode).
            reads = [c for c, a in inputs if c in solos or not a.get("pause")]
        reads.append(self._change)
        return solos, mutes, reads

    def _remove(self, ch: Chan[Any]) -> None:
        with self._lock:
            self._inputs.pop(ch, None)

    def __repr__(self) -> str:
        with self._lock:
            n = len(self._inputs)
            mode = self._solo_mode
        state = "done" if self._done else "running"
        return f"<Mix 0x{id(self):x} onto {self._out!r} inputs={n} solo_mode={mode} {state}>"


def _mix_loop(m: Mix) -> None:
    out = m._out
    change = m._change
    solos, mutes, reads = m._state()
    try:
        while not out.closed:
            v, c = alts(reads)
            if c is change:
                solos, mutes, reads = m._state()
            elif v is None:
                m._remove(c)  # a closed input leaves the mix
                solos, mutes, reads = m._state()
            elif c in solos or (not solos and c not in mutes):
                if not put(out, v):
                    return
            # else: muted (or not soloed in "mute" solo mode): taken and dropped
    finally:
        m._done = True


def mix(out: Chan[Any]) -> Mix:
    """A mix whose inputs (see `admix`) are all copied onto `out`; returns the `Mix`.

    Values are taken from the readable inputs in random order (alts).
    `toggle` sets an input's `mute`, `pause` and `solo` flags; `solo_mode`
    says what happens to the other inputs while any is soloed. The mix's go
    block ends when `out` is closed.

    >>> out = chan()
    >>> m = mix(out)
    >>> admix(m, to_chan([1, 2])); admix(m, to_chan([3]))
    >>> sorted(take(into([], take_n(3, out))))
    [1, 2, 3]
    """
    if not isinstance(out, Chan):
        raise TypeError(f"mix: out must be a Chan, got {out!r}")
    m = Mix(out)
    go(_mix_loop, m)
    return m


def _check_mix(fname: str, m: Any) -> None:
    if not isinstance(m, Mix):
        raise TypeError(f"{fname}: m must be a Mix (from mix()), got {m!r}")


def _check_chan(fname: str, ch: Any) -> None:
    if not isinstance(ch, Chan):
        raise TypeError(f"{fname}: ch must be a Chan, got {ch!r}")


def admix(m: Mix, ch: Chan[Any]) -> None:
    """Add `ch` as an input of mix `m`, with no flags set (re-adding resets its flags).

    >>> admix(m, c)
    """
    _check_mix("admix", m)
    _check_chan("admix", ch)
    with m._lock:
        m._inputs[ch] = {}
    m._changed()


def unmix(m: Mix, ch: Chan[Any]) -> None:
    """Remove input `ch` from mix `m` (a no-op if it is not an input).

    >>> unmix(m, c)
    """
    _check_mix("unmix", m)
    _check_chan("unmix", ch)
    with m._lock:
        m._inputs.pop(ch, None)
    m._changed()


def unmix_all(m: Mix) -> None:
    """Remove every input of mix `m`.

    >>> unmix_all(m)
    """
    _check_mix("unmix_all", m)
    with m._lock:
        m._inputs.clear()
    m._changed()


def toggle(m: Mix, state_map: Mapping[Chan[Any], Mapping[str, bool]]) -> None:
    """Set flags of inputs of mix `m` atomically: `{ch: {"mute": .., "pause": .., "solo": ..}}`.

    Given flags are merged into each channel's current flags (others are
    kept); a channel not yet in the mix is added with those flags.

    >>> toggle(m, {a: {"solo": True}, b: {"mute": True, "pause": False}})
    """
    _check_mix("toggle", m)
    if not isinstance(state_map, Mapping):
        raise TypeError("toggle: state_map must be a dict of Chan -> dict of flags, "
                        f"got {state_map!r}")
    updates = []
    for ch, attrs in state_map.items():
        if not isinstance(ch, Chan):
            raise TypeError(f"toggle: state_map keys must be Chans, got {ch!r}")
        if not isinstance(attrs, Mapping):
            raise TypeError(f"toggle: state_map[{ch!r}] must be a dict of flags, got {attrs!r}")
        for k in attrs:
            if k not in _ATTRS:
                raise ValueError(f"toggle: state_map[{ch!r}] has flag {k!r}; "
                                 f"flags are 'mute', 'pause' and 'solo'")
        updates.append((ch, {k: bool(v) for k, v in attrs.items()}))
    with m._lock:
        for ch, attrs in updates:
            m._inputs[ch] = {**m._inputs.get(ch, {}), **attrs}
    m._changed()


def solo_mode(m: Mix, mode: str) -> None:
    """Set what soloing does to the other inputs of mix `m`: `"mute"` (the default) or `"pause"`.

    Anything else is a `ValueError`.

    >>> solo_mode(m, "pause")
    """
    _check_mix("solo_mode", m)
    if mode not in _SOLO_MODES:
        raise ValueError(f"solo_mode: mode must be 'mute' or 'pause', got {mode!r}")
    with m._lock:
        m._solo_mode = mode
    m._changed()

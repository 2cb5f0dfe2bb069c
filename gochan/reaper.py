"""Reaping go blocks parked on channels that nobody else can reach.

greenlet hides a suspended greenlet's frames from the cycle collector, so a
go block parked on a channel only it can reach is never freed and its
`finally` never runs (core.async leaves this to the JVM). After full
collections each hub sweeps its own go blocks parked on the same thing at
two sweeps in a row, with a small collector that can see them: from their
ports, it walks referrers backwards (to a bound), counts references from
inside the set, the candidates' frame slots and the arguments callers keep
on their stacks (measured once: `stack_credit()`), and treats any object
with more references as a root. Go blocks none of whose ports a root
reaches are reaped: the operation is withdrawn and `GreenletExit` thrown in.
It errs one way only: what it cannot attribute keeps a go block alive, and
an account that does not add up reaps nothing. DESIGN.md has the details.
"""
from __future__ import annotations

import gc
import sys
import time
import types
from typing import Any, Dict, List, Optional, Set

from greenlet import GreenletExit, getcurrent, greenlet

from .channel import Chan
from .errors import logger, report_exception
from .hub import GoTask, Hub, park_compiled
from .protocols import ALTS, PUT, TAKE
from .runtime import Runtime, on_start, peek_runtime
from .waiters import AltWaiter, Flag

__all__ = ["sweep", "request_sweep", "stack_credit", "HubReaper"]

#: Sweeps run when the hub has nothing runnable, so reaping never delays
#: work; a hub that stays busy sweeps anyway once a request is MAX_DEFER
#: seconds old. After a sweep that took t seconds the next waits
#: min(SWEEP_DUTY * t, MAX_COOLDOWN); a request meanwhile is deferred, not
#: dropped, and never wakes a sleeping hub by itself.
SWEEP_DUTY = 20
MAX_COOLDOWN = 2.0
MAX_DEFER = 5.0
#: The backward walk from the ports stops here (levels, objects): beyond, all is reachable.
MAX_DEPTH = 24
MAX_OBJECTS = 20_000
#: Candidates whose ports are walked back per sweep (`gc.get_referrers` compares every
#: reference in the heap with every object it looks for), and the most objects looked for at once.
WALK_BATCH = 64
MAX_FRONTIER = 256
#: Candidates examined per sweep at most.
BATCH = 2048
#: What `_Graph._reach_forward` adds per candidate, and how deep it looks.
FORWARD = 64
FORWARD_DEPTH = 4

_PARKED = (TAKE, PUT, ALTS)
#: The containers `_Graph._reach_forward` may add (exact types), and the ports it looks into.
_FORWARD = {tuple, list, dict, set, frozenset, Flag, AltWaiter}
_QUEUED_ON = {Chan}
CO_VARARGS = 0x04
_PARK_COMPILED = park_compiled.__code__


class HubReaper:
    """One hub's sweep requests: a hook of the hub loop (see `Hub.add_hook`)."""

    __slots__ = ("hub", "requested", "requested_at", "after", "turn", "walked", "sweeps")

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.turn = 0  # where the next sweep's batches start, so every candidate gets its turn
        self.walked: Dict[int, int] = {}  # id(go block) -> id(what it waited on) when last walked (ids only)
        self.requested = False
        self.requested_at = 0.0
        self.after = 0.0  # monotonic time before which the next sweep does not run
        self.sweeps = 0  # sweeps run so far (tests wait for sweeps, not for time)

    def request(self, now: float) -> None:
        if not self.requested:
            self.requested_at = now
            self.requested = True

    def hook(self) -> Optional[float]:
        """Sweep if a request is pending, the cooldown is over and the hub is idle (or the request old)."""
        if not self.requested:
            return None
        now = time.monotonic()
        if now < self.after:
            return None
        if not self.hub.idle() and now - self.requested_at < MAX_DEFER:
            return None
        self.requested = False
        try:
            sweep(self.hub)
        finally:
            took = time.monotonic() - now
            self.after = now + took + min(SWEEP_DUTY * took, MAX_COOLDOWN)
            self.sweeps += 1
        return None


def _install(rt: Runtime) -> None:
    for hub in rt.hubs:
        r = HubReaper(hub)
        hub.services[HubReaper] = r
        hub.add_hook(r.hook)


def request_sweep() -> None:
    """Ask every hub to sweep for unreachable parked go blocks (when idle, or after its cooldown).

    Runs inside the garbage collector's callback, that is inside whatever
    allocation triggered the collection, possibly while this thread holds a
    hub's inbox lock: it takes no lock that could already be held.
    """
    rt = peek_runtime()
    if rt is None:
        return
    now = time.monotonic()
    for hub in rt.hubs:
        r = hub.services.get(HubReaper)
        if r is not None:
            r.request(now)
            hub.poke(blocking=False)


def _on_gc(phase: str, info: Dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        request_sweep()


on_start(_install)
gc.callbacks.append(_on_gc)


# ------------------------------------------------------------ the sweep
def sweep(hub: Hub) -> int:
    """Reap this hub's go blocks that nobody can wake; returns how many. On the hub's thread only.

    A go block is examined only if the previous sweep already saw it parked
    on the same thing (`GoTask.reap_mark`): reading a suspended go block's
    frames materializes frame objects that then live as long as the frames,
    a cost only long-parked go blocks should pay.
    """
    candidates = _candidates(hub)
    if not candidates or stack_credit() is None:
        return 0
    # At most BATCH candidates per sweep, taking turns (a candidate costs ~20 us of
    # Python; left out, the others count as holding what they refer to). First without
    # walking the heap: a port nothing but the candidates refers to (`c = chan();
    # take(c)`) is decided then. A few of the others (their ports are also referred to
    # from elsewhere: an argument tuple, a list...) get the walk, which costs a heap scan
    # per level and grows with the number of ports looked for.
    r = hub.services.get(HubReaper) or HubReaper(hub)
    turn = r.turn
    r.turn += 1
    # Forget the walks of go blocks that moved on (ids only: no reference is kept).
    r.walked = {i: w for i, w in ((id(g), id(g.waiting)) for g in candidates) if r.walked.get(i) == w}
    if len(candidates) > BATCH:
        start = turn * BATCH % len(candidates)
        candidates = (candidates[start:] + candidates[:start])[:BATCH]
    dead = _unwakeable(candidates, walk=False)
    decided = {id(g) for g in dead}
    # Those not yet walked while parked where they are go first, then the others in turn.
    fresh = [g for g in candidates if id(g) not in decided and id(g) not in r.walked]
    stale = [g for g in candidates if id(g) not in decided and id(g) in r.walked]
    del candidates
    start = turn * WALK_BATCH % len(stale) if stale else 0
    batch = (fresh + stale[start:] + stale[:start])[:WALK_BATCH]
    del fresh, stale
    r.walked.update((id(g), id(g.waiting)) for g in batch)
    if batch:
        dead += _unwakeable(batch, walk=True)
    del batch
    reaped = 0
    for g in dead:
        waiting = g.waiting
        if g.op in _PARKED and waiting is not None and waiting.withdraw(g):  # nobody completed it meanwhile
            try:
                g.throw(GreenletExit)
                reaped += 1
            except BaseException as exc:
                report_exception(exc)
    return reaped


def _candidates(hub: Hub) -> List[GoTask]:
    out = []
    for g in hub.live_tasks():
        waiting = g.waiting
        if g.op not in _PARKED or waiting is None:
            g.reap_mark = None
        elif g.reap_mark is not waiting:
            g.reap_mark = waiting  # first sighting: look again at the next sweep
        else:
            out.append(g)
    return out


def _frames(g: Any) -> List[Any]:
    """A suspended greenlet's frames, outermost first."""
    out = []
    f = g.gr_frame
    while f is not None:
        out.append(f)
        f = f.f_back
    out.reverse()
    return out


def _slots(f: Any, shown: Any = None) -> Dict[str, Any]:
    """The variables frame `f`'s slots hold directly, by name (not cell variables, whose slot holds a cell).

    `shown` is `f.f_locals` if already read (on 3.10-3.12 each read copies every local).
    """
    code = f.f_code
    if shown is None:
        shown = f.f_locals
    cells = code.co_cellvars
    out = {}
    for name in code.co_varnames:
        if name in cells:
            continue
        try:
            out[name] = shown[name]
        except KeyError:  # unbound
            pass
    return out


class _Graph:
    """The objects a sweep examines, held so that only ids escape to the refcount check."""

    def __init__(self, candidates: List[GoTask]) -> None:
        self.internal: Dict[int, Any] = {}  # the candidates, their frames, their frames' locals mirrors
        self.frames: Dict[int, List[Any]] = {}
        self.ports: Dict[int, List[int]] = {}  # candidate id -> ids of its ports
        self.closure: Dict[int, Any] = {}  # the ports and what refers to them
        self.own: Set[int] = set()  # this sweep's own containers and frames
        self.unexplored: Set[int] = set()  # found objects whose referrers were not examined
        self.slot_ids: Dict[int, List[int]] = {}  # frame id -> ids of what its slots hold
        self.arg_ids: Dict[int, List[int]] = {}  # frame id -> ids of the arguments it was called with
        seeds_of: Dict[int, List[Any]] = {}
        for g in candidates:
            self.internal[id(g)] = g
            seeds = seeds_of[id(g)] = [g.waiting]
            frames = self.frames[id(g)] = _frames(g)
            for f in frames:
                self.internal[id(f)] = f
                shown = f.f_locals
                if type(shown) is dict:  # the frame's own mirror of its locals (3.10-3.12)
                    self.internal[id(shown)] = shown
                loc = _slots(f, shown)
                seeds.extend(loc.values())
                self.slot_ids[id(f)] = [id(v) for v in loc.values()]
                self.arg_ids[id(f)] = [id(v) for v in _arguments(f.f_code, loc)]
            ids = []
            for p in g.waiting.ports():
                self.closure[id(p)] = p
                ids.append(id(p))
            self.ports[id(g)] = ids
        for g in candidates:  # after every candidate is internal: they are never added
            self._reach_forward(g, seeds_of.pop(id(g)))
        self.own.update(id(x) for x in (self, self.__dict__, self.internal, self.frames, self.closure, candidates))
        self.own.update(id(fs) for fs in self.frames.values())

    def _reach_forward(self, g: GoTask, seeds: List[Any]) -> None:
        """Add to `closure` the containers a candidate holds and its ports' queues, a few levels deep.

        They account for references to the ports without a heap walk: the
        argument tuple of `go(take, c)`, a list in a local, an alts' flag,
        registrations and the channels' pending queues. Adding an object is
        always safe (it becomes a root if anything outside holds it); only
        the containers of builtin types and gochan's alts records are added,
        at most FORWARD per candidate.
        """
        closure, internal = self.closure, self.internal
        seeds.extend(closure[i] for i in self.ports[id(g)])
        budget = FORWARD
        level = seeds
        for _ in range(FORWARD_DEPTH):
            nxt: List[Any] = []
            for x in level:
                i = id(x)
                if i in internal:
                    continue
                if i in closure:
                    if x.__class__ in _QUEUED_ON:  # a port: look at its queues, do not add it again
                        nxt.extend(gc.get_referents(x))
                    continue
                if x.__class__ not in _FORWARD or budget <= 0:
                    continue
                closure[i] = x
                budget -= 1
                nxt.extend(gc.get_referents(x))
            level = nxt


def _unwakeable(candidates: List[GoTask], walk: bool) -> List[GoTask]:
    """The candidates none of whose ports anything outside them can reach (see the module docstring).

    Without `walk`, the ports' referrers are not looked for: a port with any
    reference from elsewhere counts as reachable.
    """
    graph = _Graph(candidates)
    if walk:
        _walk_back(graph)
    counted = _count_inside(graph, candidates, stack_credit() or 0)
    inside, holds = counted
    roots = _roots(graph.closure, inside)
    if roots is None:
        return []
    roots.extend(graph.unexplored)
    # What the roots reach is alive; a go block with a live port is alive, and so is what it holds.
    closure = graph.closure
    waiting_on: Dict[int, List[int]] = {}
    for g in candidates:
        for i in graph.ports[id(g)]:
            waiting_on.setdefault(i, []).append(id(g))
    alive: Set[int] = set()
    woken: Set[int] = set()
    stack = roots
    while stack:
        i = stack.pop()
        if i in alive:
            continue
        alive.add(i)
        for t in waiting_on.get(i, ()):
            if t not in woken:
                woken.add(t)
                stack.extend(j for j in holds[t] if j not in alive)
        for r in gc.get_referents(closure[i]):
            j = id(r)
            if j in closure and j not in alive:
                stack.append(j)
        r = None
    return [g for g in candidates if id(g) not in woken]


def _count_inside(graph: _Graph, candidates: List[GoTask], credit: int) -> "tuple[Dict[int, int], Dict[int, Set[int]]]":
    """References to each found object from inside (found objects, candidates, their frames), and
    for each candidate the ids of the found objects it holds."""
    closure = graph.closure
    inside: Dict[int, int] = dict.fromkeys(closure, 0)
    holds: Dict[int, Set[int]] = {}
    for x in list(closure.values()) + list(graph.internal.values()):
        for r in _referents(x):
            i = id(r)
            if i in inside:
                inside[i] += 1
    for g in candidates:
        held: Set[int] = set()
        frames = graph.frames[id(g)]
        for x in [g, *frames]:
            held.update(id(r) for r in _referents(x) if id(r) in inside)
        for k, f in enumerate(frames):
            slots: Dict[int, int] = {}
            for i in graph.slot_ids[id(f)]:
                if i in inside:
                    slots[i] = slots.get(i, 0) + 1
                    held.add(i)
            if slots:
                for r in gc.get_referents(f):
                    i = id(r)
                    if i in slots:
                        slots[i] -= 1
                for i, n in slots.items():  # locals the collector does not see through the frame
                    if n > 0:
                        inside[i] += n
            # This frame's arguments, still on its caller's stack: on 3.10 for any frame; from 3.11
            # for `park_compiled`'s, which a C function (the compiled take/put) passed on from its
            # caller's stack.
            c = 1 if f.f_code is _PARK_COMPILED else credit
            if c and k > 0:
                for i in graph.arg_ids[id(f)]:
                    if i in inside:
                        inside[i] += c
        holds[id(g)] = held
    return inside, holds


def _referents(x: Any) -> List[Any]:
    """What `x` refers to. A suspended greenlet's traversal lists nothing to `gc.get_referents`
    (though `gc.get_referrers` sees it), so for a go block its slots are read instead; anything
    missed only makes an object look held from outside."""
    if x.__class__ is GoTask:
        return [getattr(x, name) for name in GoTask.__slots__] + [x.gr_context, x.parent]
    return gc.get_referents(x)


def _roots(closure: Dict[int, Any], inside: Dict[int, int]) -> Optional[List[int]]:
    """Ids of the found objects referenced from outside; None if an account does not add up.

    Only `closure` and this loop refer to the objects here (`_temp_refs` measures that much).
    """
    base = _temp_refs()
    roots = []
    for i, o in closure.items():
        extra = sys.getrefcount(o) - base - inside[i]
        if extra < 0:
            logger.debug("reaper: the references to a %s are off by %d; not reaping", type(o).__name__, extra)
            return None
        if extra > 0:
            roots.append(i)
    return roots


def _walk_back(graph: _Graph) -> None:
    """Add to `graph.closure` what refers to it, level by level.

    A referrer that is global (a module's globals, a class, a frame running
    elsewhere) is not added: its references then count as from outside. Past
    the depth or size bound, the objects whose referrers were not examined
    are marked `unexplored`, and count as held from outside.
    """
    closure, internal, own = graph.closure, graph.internal, graph.own
    f: Optional[types.FrameType] = sys._getframe()
    while f is not None:  # this thread's running frames (the hub loop, this sweep)
        own.add(id(f))
        f = f.f_back
    modules = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    listed = _listed_refs()
    frontier = list(closure.values())
    for _ in range(MAX_DEPTH):
        if not frontier or len(closure) > MAX_OBJECTS or len(frontier) > MAX_FRONTIER:
            break
        own.add(id(frontier))
        found: List[Any] = []
        own.add(id(found))
        n = len(frontier)
        refs = gc.get_referrers(*frontier)
        for r in refs:
            i = id(r)
            if i in closure or i in internal or i in own:
                continue
            if type(r) is tuple and len(r) == n and sys.getrefcount(r) <= listed and all(
                    a is b for a, b in zip(r, frontier, strict=True)):
                continue  # the call's own argument tuple (3.13 lists it), held by nothing but `refs`
            if i in modules or isinstance(r, (type, types.ModuleType)) or type(r) is types.FrameType:
                continue  # held globally, or by a running frame: its references count as from outside
            closure[i] = r
            found.append(r)
        refs, r = [], None  # drop what this level held
        frontier = found
    graph.unexplored.update(id(o) for o in frontier)


def _listed_refs() -> int:
    """The references to an object held only by a list being looped over as in `_walk_back`."""
    refs = [(object(),)]
    for r in refs:
        return sys.getrefcount(r)
    return 0  # pragma: no cover


def _arguments(code: Any, loc: Dict[str, Any]) -> List[Any]:
    """The values a call passed to a frame of `code`: its parameters and the items of its *args."""
    n = code.co_argcount + code.co_kwonlyargcount
    out = [loc[name] for name in code.co_varnames[:n] if name in loc]  # cell parameters are not in loc
    if code.co_flags & CO_VARARGS:
        rest = loc.get(code.co_varnames[n])
        if type(rest) is tuple:
            out.extend(rest)
    return out


def _temp_refs() -> int:
    """The references `_unwakeable`'s refcount loop itself holds to each object, measured."""
    closure = {0: object()}
    for _i, o in closure.items():  # the same loop as `_roots`
        return sys.getrefcount(o)
    return 0  # pragma: no cover


_credit: Any = "unmeasured"


def stack_credit() -> Optional[int]:
    """References a suspended call's caller keeps to each argument (on its evaluation stack).

    Measured once, here: a probe greenlet parks inside a call and the probe
    argument's references are accounted for. 1 on CPython 3.10 and 0 from
    3.11 (arguments move into the callee's frame). None if the account does
    not come out as 0 or 1: the reaper then reaps nothing, rather than guess.
    """
    global _credit
    if _credit == "unmeasured":
        # The least of a few measurements, each with a fresh probe: another thread can only add
        # references for a moment (a `gc.get_objects()` list made meanwhile lists the probe),
        # never take one away. One inflated measurement, kept for good, once left a whole test
        # run with a reaper that reaped nothing.
        found = []
        for _ in range(CREDIT_TRIES):
            n = _measure_credit()
            if n is not None:
                found.append(n)
                if n == 0:
                    break  # the floor: nothing can have been missed
        _credit = min(found) if found and min(found) in (0, 1) else None
    return _credit  # type: ignore[no-any-return]


#: Measurements of the stack credit (at most; a 0 ends them), of which the least counts.
CREDIT_TRIES = 20


def _measure_credit() -> Optional[int]:
    main = getcurrent()

    def callee(x: Any) -> None:
        main.switch()

    def caller(x: Any) -> None:
        callee(x)

    probe: List[Any] = []  # a tracked object, like a channel (dicts holding only untracked values are untracked)
    g = greenlet(caller)
    g.switch(probe)
    try:
        # Account for `probe` as a sweep would, with the two frames as the candidate's.
        frames = _frames(g)
        internal = list(frames)
        for f in frames:  # reading a frame's locals makes its mirror dict (3.10-3.12)
            loc = f.f_locals
            if type(loc) is dict:
                internal.append(loc)
        inside = 0
        for y in internal:
            for x in _referents(y):
                inside += x is probe
        for f in frames:
            n = 0
            for v in _slots(f).values():
                n += v is probe
            for x in gc.get_referents(f):
                n -= x is probe
            inside += max(0, n)
        here = sys._getframe()
        for r in gc.get_referrers(probe):
            if r is here or any(r is y for y in internal):
                continue
            for x in gc.get_referents(r):
                inside += x is probe
        f = v = x = y = r = here = loc = None  # type: ignore[assignment]
        del internal
        # getrefcount's argument and `probe` here (no closure may capture it: it would be a cell)
        left = sys.getrefcount(probe) - 2 - inside
    finally:
        g.throw(GreenletExit)
    return left if left >= 0 else None

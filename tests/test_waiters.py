"""commit_pair: an alts pairing commits both flags or neither, locking them in one global order."""
import threading
from typing import List

import pytest

from gochan.waiters import OK, OTHER_DEAD, SAME, SELF_DEAD, Flag, commit_pair


class RecordingLock:
    def __init__(self, name: str, log: List[str]) -> None:
        self.name = name
        self.log = log
        self.inner = threading.Lock()

    def acquire(self) -> bool:
        self.log.append(self.name)
        return self.inner.acquire()

    def release(self) -> None:
        self.inner.release()


def test_plain_and_flag() -> None:
    f = Flag()
    assert commit_pair(None, f) == OK and not f.active
    assert commit_pair(None, f) == OTHER_DEAD
    g = Flag()
    assert commit_pair(g, None) == OK and not g.active
    assert commit_pair(g, None) == SELF_DEAD


def test_same_alts_never_pairs_with_itself() -> None:
    f = Flag()
    assert commit_pair(f, f) == SAME
    assert f.active


@pytest.mark.parametrize("dead", ["own", "other"])
def test_both_or_neither(dead: str) -> None:
    own, other = Flag(), Flag()
    (own if dead == "own" else other).active = False
    assert commit_pair(own, other) == (SELF_DEAD if dead == "own" else OTHER_DEAD)
    alive = other if dead == "own" else own
    assert alive.active  # the live side was not consumed by a failed pairing
    assert commit_pair(Flag(), alive) == OK and not alive.active


def test_locks_taken_in_one_global_order_whatever_the_argument_order() -> None:
    a, b = Flag(), Flag()
    log: List[str] = []
    a.lock = RecordingLock("a", log)
    b.lock = RecordingLock("b", log)
    first = "a" if id(a) < id(b) else "b"
    second = "b" if first == "a" else "a"
    commit_pair(a, b)
    a.active = b.active = True
    commit_pair(b, a)
    assert log == [first, second, first, second]


@pytest.mark.timeout(30)
def test_opposite_pairings_race_without_deadlock_and_commit_exactly_once() -> None:
    rounds = 3000
    wins = [[0, 0] for _ in range(rounds)]
    flags = [(Flag(), Flag(), Flag()) for _ in range(rounds)]
    start = threading.Barrier(2)

    def worker(me: int) -> None:
        start.wait()
        for i, (a, b, c) in enumerate(flags):
            # thread 0 pairs (a, b), thread 1 pairs (b, a) then (c, a): a may commit once only
            if me == 0:
                wins[i][0] += commit_pair(a, b) == OK
            else:
                wins[i][1] += commit_pair(b, a) == OK
                wins[i][1] += commit_pair(c, a) == OK

    threads = [threading.Thread(target=worker, args=(m,)) for m in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
        assert not t.is_alive(), "commit_pair deadlocked"
    for i, (w0, w1) in enumerate(wins):
        assert w0 + w1 == 1, f"round {i}: flag a committed {w0 + w1} times"
        a, b, c = flags[i]
        assert not a.active

"""The blocking detector: a go block holding its hub is reported once, with its stack."""
import time

import pytest

import gochan
from gochan import chan, go, put, take
from gochan.watchdog import set_blocking_threshold


def _hog_the_hub(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:  # a CPU loop that never parks
        n += 1
    return n


@pytest.mark.timeout(20)
def test_a_go_block_that_never_parks_is_reported_once_with_its_stack(reports) -> None:
    got, event = reports
    assert take(go(_hog_the_hub, 0.6)) > 0
    assert event.wait(5)
    time.sleep(0.3)  # a second report would have come within a period
    assert len(got) == 1
    hub, seconds, stack = got[0]
    assert seconds >= 0.1
    assert "_hog_the_hub" in stack


@pytest.mark.timeout(20)
def test_go_blocks_that_park_are_not_reported(reports) -> None:
    got, _ = reports
    a, b = chan(), chan()
    n = 20000

    def ping() -> None:
        for i in range(n):
            put(a, i)
            take(b)

    def pong() -> None:
        for _ in range(n):
            put(b, take(a))

    done = go(pong)
    take(go(ping))
    take(done)
    assert got == []


def test_bad_threshold_names_the_argument() -> None:
    with pytest.raises(ValueError, match="ms"):
        set_blocking_threshold(-1)
    with pytest.raises(TypeError, match="report"):
        set_blocking_threshold(100, report=42)
    assert gochan.set_blocking_threshold is set_blocking_threshold

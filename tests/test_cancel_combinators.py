"""Combinators under cancellation: a cancelled pipeline stops whole and closes what it owns;
loops ended by shutdown close their outputs, leaving no go block parked behind them."""
from __future__ import annotations

from typing import Any, List

import pytest
from conftest import pending_of, wait_until

import gochan
from gochan import cancel, chan, dump, merge, mult, offer, pipe, pipeline, pipeline_blocking, put, stats, take, tap, xf


def live(prefix: str) -> List[Any]:
    return [i for i in dump() if i.kind != "thread" and prefix in (i.function or "")]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["pipeline", "pipeline_blocking"])
def test_cancelling_a_pipeline_stops_all_of_it_and_closes_to(kind: str) -> None:
    frm, to = chan(), chan()
    make = pipeline if kind == "pipeline" else pipeline_blocking
    p = make(3, to, xf.map(lambda x: x * 10), frm)
    for i in range(5):
        put(frm, i)  # the workers and the output loop fill up: it parks on its put to `to`
    wait_until(lambda: pending_of(to)[0] == 1, what="the pipeline parked on `to`")
    assert take(to) == 0  # it works, in order
    wait_until(lambda: pending_of(to)[0] == 1, what="parked on `to` again")
    assert cancel(p) is True
    assert take(p) is None
    wait_until(lambda: stats(to).closed, what="`to` closed")
    assert take(to) is None  # its pending put was withdrawn: nothing delivered after the cancel
    wait_until(lambda: not live("_pipeline") and pending_of(frm) == (0, 0), what="every pipeline loop ended")
    assert offer(frm, 99) is None  # nobody consumes `frm` any more


@pytest.mark.timeout(40)
def test_shutdown_closes_the_outputs_of_pipe_merge_and_mult_taps() -> None:
    src, to = chan(), chan()
    pipe(src, to)
    m_in = [chan(), chan()]
    merged = merge(m_in)
    msrc = chan()
    t = chan()
    tap(mult(msrc), t)
    put(msrc, "v")  # the mult's loop is now parked on delivering to the tap
    wait_until(lambda: pending_of(t)[0] == 1, what="the mult parked on its tap")
    assert gochan.shutdown(timeout_ms=20_000) is True
    assert stats(to).closed, "pipe"
    assert stats(merged).closed, "merge"
    assert stats(t).closed, "mult's tap"

"""dump(): every live go block, the function it runs, where it is parked and on which op."""
import io
import time

import pytest

import gochan
from gochan import chan, close, go, pipe, put, take


def _wait_for(pred, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def parked_reader(c):
    return take(c)


@pytest.mark.timeout(20)
def test_dump_lists_a_parked_go_block_with_its_location_and_op() -> None:
    c = chan()
    done = go(parked_reader, c)
    infos = _wait_for(lambda: [i for i in gochan.dump() if i.function == "parked_reader"])
    assert len(infos) == 1
    info = infos[0]
    assert info.op == "take"
    assert info.location.endswith("test_dump.py:" + str(parked_reader.__code__.co_firstlineno + 1))
    assert "takes=1" in info.channel
    out = io.StringIO()
    gochan.dump(out)
    assert "parked_reader" in out.getvalue()
    put(c, "x")
    assert take(done) == "x"
    _wait_for(lambda: not [i for i in gochan.dump() if i.function == "parked_reader"])


@pytest.mark.timeout(20)
def test_dump_lists_combinator_loops() -> None:
    src, dst = chan(), chan()
    pipe(src, dst)
    infos = _wait_for(lambda: [i for i in gochan.dump() if i.function == "_pipe_loop"])
    assert infos[0].op == "take" and infos[0].location.split(":")[0].endswith("pipes.py")
    close(src)
    assert take(dst) is None
    _wait_for(lambda: not [i for i in gochan.dump() if i.function == "_pipe_loop"])

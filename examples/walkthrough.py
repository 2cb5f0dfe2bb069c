"""core.async's walkthrough, example by example, in gochan.

Run: python examples/walkthrough.py
Each section mirrors one snippet of the walkthrough, in order; the Clojure
is quoted in the comments.
"""
import time

from gochan import alts, chan, close, dropping_buffer, go, put, sliding_buffer, take, thread, timeout


def channels() -> None:
    # (a/chan) (a/chan 10) (let [c (a/chan)] (a/close! c))
    unbuffered = chan()
    buffered = chan(10)
    c = chan()
    close(c)
    assert c.closed and take(c) is None  # a drained, closed channel gives None
    # (a/chan (a/dropping-buffer 10)) (a/chan (a/sliding-buffer 10))
    dropping = chan(dropping_buffer(10))
    sliding = chan(sliding_buffer(10))
    print("channels:", unbuffered, buffered, dropping, sliding, sep="\n  ")


def blocking_put_take() -> None:
    # (let [c (a/chan 10)] (>!! c "hello") (assert (= "hello" (<!! c))) (a/close! c))
    c = chan(10)
    put(c, "hello")
    assert take(c) == "hello"
    close(c)


def thread_put() -> None:
    # (let [c (a/chan)] (a/thread (>!! c "hello")) (assert (= "hello" (<!! c))) (a/close! c))
    c = chan()
    thread(put, c, "hello")
    assert take(c) == "hello"
    close(c)


def go_blocks() -> None:
    # (let [c (a/chan)] (a/go (>! c "hello")) (assert (= "hello" (<!! (a/go (<! c))))) (a/close! c))
    c = chan()
    go(put, c, "hello")
    assert take(go(take, c)) == "hello"
    close(c)


def alts_in_thread() -> None:
    # (a/thread (while true (let [[v ch] (a/alts!! [c1 c2])] (println "Read" v "from" ch))))
    # The loop here ends when a channel closes, so the example finishes cleanly.
    c1, c2 = chan(), chan()

    def reader() -> None:
        while True:
            v, ch = alts([c1, c2])
            if v is None:
                return
            print("Read", v, "from", ch)

    done = thread(reader)
    put(c1, "hi")
    put(c2, "there")
    close(c1)
    take(done)


def alts_in_go() -> None:
    # The same with go blocks: (a/go (while true ... (a/alts! [c1 c2]) ...))
    c1, c2 = chan(), chan()

    def reader() -> None:
        while True:
            v, ch = alts([c1, c2])
            if v is None:
                return
            print("Read", v, "from", ch)

    done = go(reader)
    sent = [go(put, c1, "hi"), go(put, c2, "there")]
    for s in sent:
        take(s)  # each go block's channel yields its put's result once the reader took the value
    close(c1)
    take(done)


def lots_of_go_blocks(n: int = 1000) -> None:
    # 1000 go blocks say hi on 1000 channels; alts!! reads them as they are ready.
    cs = [chan() for _ in range(n)]
    begin = time.monotonic()
    for c in cs:
        go(put, c, "hi")
    for _ in range(n):
        v, c = alts(cs)
        assert v == "hi"
    print("Read", n, "msgs in", round((time.monotonic() - begin) * 1000), "ms")


def timeout_waits() -> None:
    # (let [t (a/timeout 100) begin (System/currentTimeMillis)]
    #   (<!! t)
    #   (println "Waited" (- (System/currentTimeMillis) begin)))
    begin = time.monotonic()
    t = timeout(100)
    take(t)
    waited = (time.monotonic() - begin) * 1000
    assert waited >= 100  # a timeout never closes early
    print("Waited", round(waited), "ms")


def timed_alts() -> None:
    # (let [c (a/chan) begin (System/currentTimeMillis)]
    #   (a/alts!! [c (a/timeout 100)])
    #   (println "Gave up after" (- (System/currentTimeMillis) begin)))
    c = chan()
    begin = time.monotonic()
    t = timeout(100)
    v, port = alts([c, t])
    assert v is None and port is t  # the timeout closed: nothing came on c
    print("Gave up after", round((time.monotonic() - begin) * 1000), "ms")


def main() -> None:
    channels()
    blocking_put_take()
    thread_put()
    go_blocks()
    alts_in_thread()
    alts_in_go()
    lots_of_go_blocks()
    timeout_waits()
    timed_alts()


if __name__ == "__main__":
    main()

"""The walkthrough's demo: n go blocks each put "hi" on their own channel; n alts read them.

    python examples/demo_1000.py            # n = 1000
    python examples/demo_1000.py --n 10000
"""
import argparse
import time

from gochan import alts, chan, go, put


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of go blocks and channels")
    n = parser.parse_args().n
    cs = [chan() for _ in range(n)]
    begin = time.monotonic()
    for c in cs:
        go(put, c, "hi")
    for _ in range(n):
        v, c = alts(cs)
        assert v == "hi", v
    print(f"Read {n} msgs in {(time.monotonic() - begin) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

"""The crawler pattern: fetches with a deadline that really stop, a scope per batch of pages,
errors that reach the caller.

`fetch` stands for a network call: it parks its go block for the page's
latency (`gochan.net`'s calls park the same way). The site is made up and
seeded, so the run is the same every time:

    python examples/crawler.py            # crawl, then crawl again with a broken page
"""
from __future__ import annotations

import random
import sys
import time
from typing import Dict, List, Optional, Tuple

from gochan import dump, scope, sleep, take

# url -> (latency in ms, links, fails)
Site = Dict[str, Tuple[int, List[str], bool]]


def make_site(n: int, slow: int, broken: Optional[str] = None, seed: int = 7) -> Site:
    rng = random.Random(seed)
    urls = [f"/page/{i}" for i in range(n)]
    site: Site = {}
    for i, url in enumerate(urls):
        latency = 400 if i and i % (n // slow) == 0 else rng.randint(1, 20)  # a few never answer in time
        site[url] = (latency, rng.sample(urls, 4), url == broken)
    return site


def fetch(site: Site, url: str) -> List[str]:
    latency, links, fails = site[url]
    sleep(latency)  # the network: parks this go block, never its hub
    if fails:
        raise ConnectionError(f"{url}: connection reset")
    return links


def fetch_with_deadline(site: Site, url: str, ms: int) -> Optional[List[str]]:
    """The page's links, or None if it took longer than `ms`: then the fetch has really stopped
    (its go block was cancelled where it waited), not left running in the background."""
    try:
        with scope(timeout_ms=ms) as s:
            links = s.go(fetch, site, url)
        return take(links)
    except TimeoutError:
        return None


def crawl(site: Site, start: str, deadline_ms: int) -> Tuple[int, int]:
    """Breadth-first, one scope per batch: (pages fetched, pages given up on).

    An error in any fetch cancels the rest of its batch and propagates here.
    """
    seen, frontier = {start}, [start]
    fetched = gave_up = 0
    while frontier:
        with scope() as batch:  # leaving it waits for every fetch of the batch
            results = [batch.go(fetch_with_deadline, site, url, deadline_ms) for url in frontier]
        frontier = []
        for ch in results:
            links = take(ch)
            if links is None:
                gave_up += 1
                continue
            fetched += 1
            for link in links:
                if link not in seen:
                    seen.add(link)
                    frontier.append(link)
    return fetched, gave_up


def main() -> None:
    site = make_site(200, slow=10)
    t0 = time.monotonic()
    fetched, gave_up = crawl(site, "/page/0", deadline_ms=100)
    ms = (time.monotonic() - t0) * 1000
    print(f"fetched {fetched} pages, gave up on {gave_up} after 100 ms each, in {ms:.0f} ms")
    print(f"go blocks still running: {len(dump())}")
    broken = make_site(200, slow=10, broken="/page/3")
    try:
        crawl(broken, "/page/0", deadline_ms=100)
    except ConnectionError as exc:
        print(f"the crawl stopped: {exc}")
    print(f"go blocks still running: {len(dump())}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

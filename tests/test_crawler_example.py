"""examples/crawler.py, the README's cancellation pattern, runs as documented."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.timeout(60)
def test_crawler_gives_up_on_slow_pages_stops_on_an_error_and_leaves_nothing_running() -> None:
    r = subprocess.run([sys.executable, "examples/crawler.py"], capture_output=True, text=True, timeout=50,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    m = re.search(r"fetched (\d+) pages, gave up on (\d+) after 100 ms each", r.stdout)
    assert m, r.stdout
    fetched, gave_up = int(m.group(1)), int(m.group(2))
    assert fetched > 100 and gave_up > 0, r.stdout
    assert "the crawl stopped: /page/3: connection reset" in r.stdout, r.stdout
    assert r.stdout.count("go blocks still running: 0") == 2, r.stdout  # timed-out fetches really stopped

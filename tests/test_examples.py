"""The examples and the README's code run as documented."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, timeout=60):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.timeout(90)
def test_walkthrough_runs_every_example_in_order() -> None:
    r = _run(["examples/walkthrough.py"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    marks = ["channels:", "Read hi from", "Read there from", "Read 1000 msgs in", "Waited", "Gave up after"]
    positions = [out.find(m) for m in marks]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions), out
    waited = int(re.search(r"Waited (\d+) ms", out).group(1))
    assert waited >= 100


@pytest.mark.timeout(90)
@pytest.mark.parametrize("n", [10, 300])
def test_demo_prints_the_walkthrough_line(n: int) -> None:
    r = _run(["examples/demo_1000.py", "--n", str(n)])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rf"Read {n} msgs in \d+ ms\n", r.stdout), r.stdout


@pytest.mark.timeout(60)
def test_readme_example_runs() -> None:
    readme = open(os.path.join(ROOT, "README.md")).read()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    r = _run(["-c", code])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in {"0", "1", "4", "9", "16"}, r.stdout


@pytest.mark.timeout(60)
def test_echo_server_self_test() -> None:
    r = _run(["examples/echo_server.py", "--port", "0", "--self-test", "100"])
    assert r.returncode == 0, r.stderr
    assert re.search(r"100 clients: 1000/1000 lines echoed in \d+ ms", r.stdout), r.stdout


@pytest.mark.timeout(60)
def test_chat_server_200_clients_constant_threads() -> None:
    def run(n: int) -> int:
        r = _run(["examples/chat_server.py", "--port", "0", "--self-test", str(n)])
        assert r.returncode == 0, r.stderr
        m = re.search(rf"{n} clients in 4 rooms: {n} heard all {n // 4} of their room in \d+ ms, "
                      r"(\d+) OS threads", r.stdout)
        assert m, r.stdout
        return int(m.group(1))

    assert run(200) == run(8)  # no thread per connection


@pytest.mark.timeout(60)
def test_aio_bridge_runs() -> None:
    r = _run(["examples/aio_bridge.py", "--n", "30"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"30 replies in \d+ ms, e\.g\. 'REQUEST 0'\n", r.stdout), r.stdout

"""gochan's benchmark suite: gochan side by side with a raw-greenlet floor, gevent,
asyncio, trio and threads. Run ``python -m bench`` (or ``--quick``); see BENCHMARKS.md.
"""

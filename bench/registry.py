"""All workloads in table order, by id (W5, timers, is handled separately)."""
from __future__ import annotations

from . import (
    w1_pingpong,
    w2_buffered,
    w3_spawn_park,
    w4_demo,
    w6_threads,
    w8_crosshub,
    w9_echo,
    w10_aio,
    w11_cancel,
    w13_pipeline,
)
from .common import Workload

WORKLOADS: list[Workload] = [
    w1_pingpong.WORKLOAD,
    w1_pingpong.WORKLOAD_NAIVE,
    w2_buffered.WORKLOAD,
    w2_buffered.WORKLOAD_NAIVE,
    w3_spawn_park.WORKLOAD,
    *w4_demo.WORKLOADS,
    w6_threads.WORKLOAD,
    *w8_crosshub.WORKLOADS,
    *w9_echo.WORKLOADS,
    *w10_aio.WORKLOADS,
    w11_cancel.WORKLOAD,
    w11_cancel.SCOPE_WORKLOAD,
    w13_pipeline.WORKLOAD,
    w13_pipeline.WORKLOAD_UNORDERED,
]

BY_ID: dict[str, Workload] = {w.wid: w for w in WORKLOADS}

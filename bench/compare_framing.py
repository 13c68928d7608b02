"""goprims.framing against the obvious hand-rolled alternative: ``json.loads`` per line.

The workload is a JSON stream of 10,000 Kubernetes-shaped objects (about 300 bytes each), the
shape of a watch or a list dump. The anchor reads it as newline-delimited JSON (``for line in
stream: json.loads(line)``), which only works when the producer puts one value per line; the
subject is :class:`~goprims.framing.StreamDecoder`, which needs no line discipline. Both read
from an in-memory stream built before the clock starts.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable

from bench._harness import Comparison
from goprims.framing import StreamDecoder

N_OBJECTS = 10_000


def _stream_bytes(n: int) -> bytes:
    objs = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"cm-{i}",
                "namespace": "default",
                "resourceVersion": str(1000 + i),
                "labels": {"app": "bench", "shard": str(i % 16)},
            },
            "data": {"key": "value" * 10, "n": str(i)},
        }
        for i in range(n)
    ]
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def decode_stream(data: bytes) -> Callable[[], float]:
    def workload() -> float:
        stream = io.BytesIO(data)
        t0 = time.perf_counter()
        n = sum(1 for _ in StreamDecoder(stream))
        elapsed = time.perf_counter() - t0
        assert n == N_OBJECTS
        return elapsed

    return workload


def loads_per_line(data: bytes) -> Callable[[], float]:
    def workload() -> float:
        stream = io.BytesIO(data)
        loads = json.loads
        t0 = time.perf_counter()
        n = sum(1 for line in stream if loads(line) is not None)
        elapsed = time.perf_counter() - t0
        assert n == N_OBJECTS
        return elapsed

    return workload


def comparisons() -> list[Comparison]:
    """The framing rows of ``python -m bench``."""
    data = _stream_bytes(N_OBJECTS)
    return [
        Comparison(
            area="framing",
            name=f"decode a JSON stream of {N_OBJECTS // 1000}k objects",
            anchor="json.loads per line",
            subject=decode_stream(data),
            baseline=loads_per_line(data),
            items=N_OBJECTS,
        ),
    ]

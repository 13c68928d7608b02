"""pytest-benchmark microbenchmarks for goprims.framing (run once by the suite as a smoke test)."""

from __future__ import annotations

import io
from typing import Any

from bench.compare_framing import N_OBJECTS, _stream_bytes
from goprims.framing import StreamDecoder, iter_json_frames

DATA = _stream_bytes(N_OBJECTS)


def test_stream_decoder_json(benchmark: Any) -> None:
    assert benchmark(lambda: sum(1 for _ in StreamDecoder(io.BytesIO(DATA)))) == N_OBJECTS


def test_json_frames(benchmark: Any) -> None:
    assert benchmark(lambda: sum(1 for _ in iter_json_frames(io.BytesIO(DATA)))) == N_OBJECTS

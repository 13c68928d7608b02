"""Consistent paginated lists: the snapshots ``continue`` tokens point into."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from goprims.kube._errors import (
    bad_request,
)


class Snapshots:
    """The lists a paginated read is served from: a list's first page stores all its (filtered)
    items here, and each ``continue`` token names a snapshot and an offset, so every page of
    one list comes from the same revision (kube-apiserver reads etcd at the list's revision).
    The oldest snapshots are dropped past ``capacity`` or ``ttl`` seconds; a token naming a
    dropped snapshot answers 410 Expired, as an apiserver's token past compaction does."""

    def __init__(self, capacity: int = 32, ttl: float = 300.0) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._ttl = ttl
        # guarded by _lock: id -> (created monotonic, resource version, items)
        self._snaps: OrderedDict[str, tuple[float, str, list[Any]]] = OrderedDict()

    def put(self, rv: str, items: list[Any]) -> str:
        sid = secrets.token_hex(8)
        now = time.monotonic()
        with self._lock:
            self._snaps[sid] = (now, rv, items)
            while len(self._snaps) > self._capacity:
                self._snaps.popitem(last=False)
        return sid

    def get(self, sid: str) -> tuple[str, list[Any]] | None:
        now = time.monotonic()
        with self._lock:
            while self._snaps:
                oldest = next(iter(self._snaps.values()))
                if now - oldest[0] <= self._ttl:
                    break
                self._snaps.popitem(last=False)
            entry = self._snaps.get(sid)
        return None if entry is None else (entry[1], entry[2])


def encode_continue(sid: str, offset: int, rv: str) -> str:
    raw = json.dumps({"s": sid, "o": offset, "rv": rv}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        return str(d["s"]), int(d["o"]), str(d["rv"])
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise bad_request(f"continue key is not valid: {err}") from None

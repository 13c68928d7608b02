"""Optimistic reservations: kube-scheduler's assumed pods (``backend/cache/cache.go``).

The scheduler does not wait for the API server to confirm a binding before it schedules the next
pod: it *assumes* the pod is placed, so the next cycle already counts it, and later either sees
the binding confirmed (the informer delivers the bound pod), or *forgets* the assumption when
binding fails. Upstream also let a finished but never confirmed assumption expire after a TTL;
that expiry was removed in 2026 (kubernetes PR #136204), so here it is optional and off by
default.

Life of a key::

    assume(k, v) --> assumed --finish_binding(k)--> assumed, finished --(ttl passes)--> gone
                       |  \\                            |                   (cleanup)
                       |   forget(k) --> gone           | confirm(k, v)
                       +--confirm(k, v)--> confirmed <--+    (never expires)
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

from goprims.clock import Clock, resolve

__all__ = ["AssumeCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _State:
    __slots__ = ("assumed", "deadline", "finished", "value")

    def __init__(self, value: Any, assumed: bool) -> None:
        self.value = value
        self.assumed = assumed
        self.finished = False  # finish_binding was called (only meaningful while assumed)
        self.deadline: float | None = None  # expiry time; None: never expires


class AssumeCache(Generic[K, V]):
    """Entries that are *assumed* (reserved optimistically) or *confirmed*; thread-safe.

    * :meth:`assume` reserves a key (:class:`ValueError` if the key is present in any state).
    * :meth:`finish_binding` marks an assumed key's binding as done and, with a ``ttl``, starts
      its expiry clock (on ``clock``, default the real one).
    * :meth:`confirm` makes the key confirmed: no longer assumed, never expires. Confirming an
      absent key adds it (the assumption had expired or was never made); confirming a
      confirmed key replaces its value.
    * :meth:`forget` drops an assumed key (:class:`ValueError` for a confirmed or absent one);
      :meth:`remove` drops a confirmed one (:class:`ValueError` for an assumed or absent one).
    * :meth:`cleanup` drops the assumed, finished entries whose TTL has passed. Unfinished
      assumptions never expire (a binding still in flight); ``ttl=None`` (the default) means
      nothing ever expires. Call it periodically (upstream: every second) or from a clock
      callback.
    """

    __slots__ = ("_clock", "_lock", "_states", "_ttl")

    def __init__(self, ttl: float | None = None, clock: Clock | None = None) -> None:
        if ttl is not None and not ttl > 0:
            raise ValueError(f"AssumeCache ttl must be > 0 seconds or None (never), not {ttl!r}")
        self._ttl = ttl
        self._clock = resolve(clock)
        self._lock = threading.Lock()
        self._states: dict[K, _State] = {}  # guarded by _lock

    def assume(self, key: K, value: V) -> None:
        """Reserve ``key`` with ``value``. :class:`ValueError` if ``key`` is already present."""
        with self._lock:
            if key in self._states:
                raise ValueError(f"AssumeCache.assume: {key!r} is already present")
            self._states[key] = _State(value, assumed=True)

    def finish_binding(self, key: K) -> bool:
        """Mark an assumed key's binding finished; with a TTL its expiry starts now.

        Returns False (and does nothing) for a key that is not assumed.
        """
        with self._lock:
            st = self._states.get(key)
            if st is None or not st.assumed:
                return False
            st.finished = True
            if self._ttl is not None:
                st.deadline = self._clock.now() + self._ttl
            return True

    def confirm(self, key: K, value: V) -> None:
        """Make ``key`` confirmed with ``value``: no longer assumed, never expires."""
        with self._lock:
            st = self._states.get(key)
            if st is None:
                self._states[key] = _State(value, assumed=False)
                return
            st.value = value
            st.assumed = False
            st.finished = False
            st.deadline = None

    def forget(self, key: K) -> V:
        """Drop an assumed ``key`` and return its value (binding failed).

        :class:`ValueError` if ``key`` is absent or confirmed: only assumptions can be
        forgotten.
        """
        with self._lock:
            st = self._states.get(key)
            if st is None or not st.assumed:
                state = "absent" if st is None else "confirmed"
                raise ValueError(f"AssumeCache.forget: {key!r} is {state}, not assumed")
            del self._states[key]
            return st.value  # type: ignore[no-any-return]

    def remove(self, key: K) -> V:
        """Drop a confirmed ``key`` and return its value. :class:`ValueError` otherwise."""
        with self._lock:
            st = self._states.get(key)
            if st is None or st.assumed:
                state = "absent" if st is None else "assumed (use forget)"
                raise ValueError(f"AssumeCache.remove: {key!r} is {state}, not confirmed")
            del self._states[key]
            return st.value  # type: ignore[no-any-return]

    def get(self, key: K) -> V | None:
        """The value of ``key`` (assumed or confirmed), or None if absent."""
        st = self._states.get(key)
        return None if st is None else st.value

    def is_assumed(self, key: K) -> bool:
        """True while ``key`` is assumed (not confirmed, not forgotten, not expired)."""
        st = self._states.get(key)
        return st is not None and st.assumed

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def __len__(self) -> int:
        return len(self._states)

    def assumed_keys(self) -> list[K]:
        """The keys currently assumed (a copy)."""
        with self._lock:
            return [k for k, st in self._states.items() if st.assumed]

    def cleanup(self) -> list[K]:
        """Drop assumed, finished entries whose TTL has passed; return their keys.

        An entry expires once ``now >= deadline``. Does nothing when ``ttl`` is None.
        """
        if self._ttl is None:
            return []
        now = self._clock.now()
        with self._lock:
            expired = [
                k
                for k, st in self._states.items()
                if st.assumed and st.deadline is not None and now >= st.deadline
            ]
            for k in expired:
                del self._states[k]
            return expired

    def __repr__(self) -> str:
        return f"AssumeCache(ttl={self._ttl!r}, len={len(self._states)})"

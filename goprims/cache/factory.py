"""SharedInformerFactory (client-go ``informers/factory.go``): one informer per name.

``informer_for(name, new_func)`` returns the factory's informer for ``name``, creating it with
``new_func(default_resync)`` the first time. ``start(stop)`` runs every informer not yet started
on its own goroutine and returns at once (it may be called again after adding informers);
``wait_for_cache_sync(stop)`` waits for the *started* informers; ``shutdown()`` stops later
starts and waits for every informer's ``run`` to return -- the caller closes ``stop`` first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from goprims.cache.shared_informer import SharedIndexInformer, wait_for_cache_sync
from goprims.chan import Chan, go
from goprims.stop import Stop

__all__ = ["SharedInformerFactory"]


class SharedInformerFactory:
    """Share informers by name and start, sync and stop them together."""

    def __init__(self, default_resync: float = 0) -> None:
        if default_resync < 0:
            raise ValueError(f"default_resync must be >= 0, got {default_resync}")
        self.default_resync = default_resync
        self._lock = threading.Lock()  # guards every field below
        self._informers: dict[str, SharedIndexInformer] = {}
        self._started: dict[str, Chan[None]] = {}  # name -> closed when its run() returned
        self._shutting_down = False

    def informer_for(
        self, name: str, new_func: Callable[[float], SharedIndexInformer]
    ) -> SharedIndexInformer:
        """The informer registered under ``name``; ``new_func(default_resync)`` creates it."""
        with self._lock:
            inf = self._informers.get(name)
            if inf is None:
                inf = new_func(self.default_resync)
                self._informers[name] = inf
            return inf

    def start(self, stop: Stop) -> None:
        """Run every informer that is not running yet; returns at once. No-op after shutdown."""
        with self._lock:
            if self._shutting_down:
                return
            for name, inf in self._informers.items():
                if name in self._started:
                    continue
                done: Chan[None] = Chan()
                self._started[name] = done
                go(_run_then_close, inf, stop, done)

    def wait_for_cache_sync(self, stop: Stop, timeout: float | None = None) -> dict[str, bool]:
        """Wait for every started informer to sync; ``{name: synced}`` (False if stop closed)."""
        with self._lock:
            started = {name: self._informers[name] for name in self._started}
        return {
            name: wait_for_cache_sync(stop, inf.synced(), timeout=timeout)
            for name, inf in started.items()
        }

    def shutdown(self) -> None:
        """Refuse later starts and wait until every started informer's ``run`` has returned.
        Close the stop channel (or cancel the context) before or during this call."""
        with self._lock:
            self._shutting_down = True
            dones = list(self._started.values())
        for done in dones:
            done.recv_ok()


def _run_then_close(inf: SharedIndexInformer, stop: Stop, done: Chan[None]) -> None:
    try:
        inf.run(stop)
    finally:
        done.close()

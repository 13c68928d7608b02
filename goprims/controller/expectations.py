"""Controller expectations (kube-controller-manager's ``ControllerExpectations``).

A controller that issues writes (creates, deletes) learns about their effect only later, through
its informer. Until the cache has caught up, the controller must not act on it again, or it
would create the same children twice. An *expectation* records, per controller key, how many
creations and deletions are still to be observed: ``expect(key, adds=n)`` before issuing ``n``
creates, ``creation_observed(key)`` from the informer's add handler, and the sync only acts
while ``satisfied(key)``. A TTL (5 minutes by default) guards against a lost watch event: an
expectation older than the TTL counts as satisfied, so the controller wakes up anyway.

Differences from upstream: the clock is injectable (upstream reads real time directly), and the
TTL is per instance.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable

from goprims.clock import Clock, resolve

__all__ = ["DEFAULT_EXPECTATIONS_TTL", "Expectations", "UIDTrackingExpectations"]

DEFAULT_EXPECTATIONS_TTL = 300.0
"""Seconds after which an expectation counts as satisfied (upstream's ``ExpectationsTimeout``)."""


class _Record:
    """The counts still to be observed for one key, and when they were set."""

    __slots__ = ("adds", "dels", "stamp")

    def __init__(self, adds: int, dels: int, stamp: float) -> None:
        self.adds = adds
        self.dels = dels
        self.stamp = stamp


class _ExpectationsBase:
    """What both kinds of expectations share: records under one lock."""

    __slots__ = ("_clock", "_lock", "_records", "_ttl")

    def __init__(self, ttl: float = DEFAULT_EXPECTATIONS_TTL, clock: Clock | None = None) -> None:
        if not ttl >= 0:  # also refuses NaN
            raise ValueError(f"expectations ttl must be >= 0 seconds, not {ttl!r}")
        self._ttl = float(ttl)
        self._clock = resolve(clock)
        # One lock guards every record (and, in UIDTrackingExpectations, the uid sets), so an
        # observation is one dict lookup and two integer operations under it: no count is lost.
        self._lock = threading.Lock()
        self._records: dict[Hashable, _Record] = {}  # guarded by _lock

    @property
    def ttl(self) -> float:
        """Seconds after which a record counts as satisfied."""
        return self._ttl

    def expect(self, key: Hashable, adds: int = 0, dels: int = 0) -> None:
        """Set the counts of ``key`` to ``adds`` creations and ``dels`` deletions still to be
        observed, **replacing** any record (and its counts), and stamp the time."""
        rec = _Record(adds, dels, self._clock.now())
        with self._lock:
            self._records[key] = rec

    def expect_creations(self, key: Hashable, n: int) -> None:
        """``expect(key, adds=n, dels=0)``."""
        self.expect(key, n, 0)

    def raise_expectations(self, key: Hashable, adds: int, dels: int) -> None:
        """Add ``adds`` and ``dels`` to the counts of ``key``; nothing without a record. The time
        stamp is kept."""
        with self._lock:
            rec = self._records.get(key)
            if rec is not None:
                rec.adds += adds
                rec.dels += dels

    def lower_expectations(self, key: Hashable, adds: int, dels: int) -> None:
        """Subtract ``adds`` and ``dels`` from the counts of ``key``; nothing without a record.
        The counts may go negative (more observed than expected); that is still satisfied."""
        with self._lock:
            rec = self._records.get(key)
            if rec is not None:
                rec.adds -= adds
                rec.dels -= dels

    def creation_observed(self, key: Hashable) -> None:
        """One creation of ``key``'s children was observed (or a create failed and will never
        be): ``lower_expectations(key, 1, 0)``."""
        records = self._records
        with self._lock:
            # No call while the lock is held (a dict lookup, not .get()): a thread is then
            # hardly ever switched out holding it, which matters with many observers.
            if key in records:
                records[key].adds -= 1

    def satisfied(self, key: Hashable) -> bool:
        """True when ``key`` needs a sync: it has no record, both counts are ``<= 0``, or its
        record is **strictly** older than the TTL (exactly ``ttl`` seconds old is not expired)."""
        with self._lock:
            rec = self._records.get(key)
            if rec is None or (rec.adds <= 0 and rec.dels <= 0):
                return True
            stamp = rec.stamp
        return self._clock.now() - stamp > self._ttl

    def get(self, key: Hashable) -> tuple[int, int, bool]:
        """``(adds, dels, exists)``: the counts of ``key`` still to be observed; ``(0, 0,
        False)`` without a record."""
        with self._lock:
            rec = self._records.get(key)
            if rec is None:
                return 0, 0, False
            return rec.adds, rec.dels, True

    def delete(self, key: Hashable) -> None:
        """Forget ``key`` (e.g. its controller object was deleted). Harmless if unknown."""
        with self._lock:
            self._records.pop(key, None)

    def __len__(self) -> int:
        """The number of keys with a record."""
        return len(self._records)


class Expectations(_ExpectationsBase):
    """Per-key counts of creations and deletions still to be observed (``ControllerExpectations``).

    ``Expectations(ttl=300.0, clock=None)``: a record older than ``ttl`` seconds on ``clock``
    counts as satisfied. Keys are any hashables (usually ``namespace/name`` strings).

    * :meth:`expect` (and :meth:`expect_creations`, :meth:`expect_deletions`) **replace** the
      record of a key and stamp the time;
    * :meth:`raise_expectations`, :meth:`lower_expectations`, :meth:`creation_observed`,
      :meth:`deletion_observed` change the counts of an existing record and do nothing without
      one (an observation for a key nobody expects is not an error: it is every add event of an
      informer for objects created by someone else);
    * :meth:`satisfied` is True with no record, when both counts are ``<= 0`` (counts may go
      negative), or when the record is strictly older than the TTL.

    Thread-safe: any number of threads may observe concurrently and no count is lost.
    """

    __slots__ = ()

    def expect_deletions(self, key: Hashable, n: int) -> None:
        """``expect(key, adds=0, dels=n)``."""
        self.expect(key, 0, n)

    def deletion_observed(self, key: Hashable) -> None:
        """One deletion was observed: ``lower_expectations(key, 0, 1)``."""
        records = self._records
        with self._lock:
            if key in records:
                records[key].dels -= 1


class UIDTrackingExpectations(_ExpectationsBase):
    """:class:`Expectations` that remember *which* deletions they expect
    (``UIDTrackingControllerExpectations``).

    A graceful delete is seen twice by an informer: first as an update that sets
    ``deletionTimestamp``, later as the delete itself. A controller that treats both as "deleted"
    must not count the object twice. :meth:`expect_deletions` takes the keys (or UIDs) of the
    objects about to be deleted; :meth:`deletion_observed` lowers the count only for a key in
    that set that was not yet observed, so observing it again, or observing an object nobody
    expected, changes nothing.

    Everything else (:meth:`expect`, :meth:`creation_observed`, :meth:`satisfied`...) is as in
    :class:`Expectations`; :meth:`delete` also drops the uid set.
    """

    __slots__ = ("_uids",)

    def __init__(self, ttl: float = DEFAULT_EXPECTATIONS_TTL, clock: Clock | None = None) -> None:
        super().__init__(ttl, clock)
        self._uids: dict[Hashable, set[Hashable]] = {}  # guarded by _lock

    def expect_deletions(self, key: Hashable, uids: Iterable[Hashable]) -> None:
        """Expect the deletion of each of ``uids`` (object keys or UIDs; duplicates count once):
        the record of ``key`` becomes ``(0, len(set(uids)))`` and the set replaces any previous
        one. A plain ``int`` is refused with :class:`TypeError` (use :meth:`expect`)."""
        if isinstance(uids, (int, str, bytes)):
            raise TypeError(
                "UIDTrackingExpectations.expect_deletions takes an iterable of uids, "
                f"not {type(uids).__name__}"
            )
        expected = set(uids)
        rec = _Record(0, len(expected), self._clock.now())
        with self._lock:
            self._uids[key] = expected
            self._records[key] = rec

    def deletion_observed(self, key: Hashable, uid: Hashable) -> None:
        """The object ``uid`` was seen deleted: if ``key`` expects it and it was not yet
        observed, forget it and lower the deletion count by one; otherwise nothing."""
        with self._lock:
            expected = self._uids.get(key)
            if expected is None or uid not in expected:
                return
            expected.discard(uid)
            rec = self._records.get(key)
            if rec is not None:
                rec.dels -= 1

    def get_uids(self, key: Hashable) -> frozenset[Hashable] | None:
        """The uids of ``key`` still expected to be deleted; None when ``key`` has no uid set
        (never had one, or :meth:`delete` ran)."""
        with self._lock:
            expected = self._uids.get(key)
            return None if expected is None else frozenset(expected)

    def delete(self, key: Hashable) -> None:
        """Forget the record and the uid set of ``key``."""
        with self._lock:
            self._records.pop(key, None)
            self._uids.pop(key, None)

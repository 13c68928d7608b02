"""``NestedMap``: a concurrent map nested without bound, a tree of :class:`~goprims.maps.Map`
branches addressed by key paths, and its errors (:class:`NotExist`, :class:`NotBranch`,
:class:`NotLeaf`).

Its writes are serialised by one lock (that is what makes pruning of empty branches safe against
a concurrent store into the branch being pruned); its reads and walks take no lock of their own:
they read the branches' :class:`~goprims.maps.Map` snapshots, whose internals (the entry states
``_NIL`` and ``_EXPUNGED``, ``_promoted``) this module shares with :mod:`goprims.maps.sync_map`.
"""

from __future__ import annotations

import threading
from collections.abc import (
    Callable,
    Iterator,
)
from typing import Any

from goprims.maps.sync_map import _EXPUNGED, _NIL, Map

__all__ = ["NestedMap", "NotBranch", "NotExist", "NotLeaf"]


class NotExist(KeyError):
    """Nothing is stored at a :class:`NestedMap` path.

    ``path`` is the path the call was given; ``at`` is its shortest prefix that is absent.
    A :class:`KeyError`, so ``except KeyError`` catches it.
    """

    def __init__(self, path: tuple[Any, ...], at: tuple[Any, ...]) -> None:
        super().__init__(path)
        self.path = path
        self.at = at

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.at))

    def __str__(self) -> str:
        if self.at == self.path:
            return f"nothing stored at {self.path!r}"
        return f"nothing stored at {self.path!r}: {self.at!r} does not exist"


class NotBranch(LookupError):
    """A :class:`NestedMap` path needs a branch where a leaf (a plain value) is stored.

    ``path`` is the path the call was given; ``at`` is the prefix of it that holds a leaf.
    """

    def __init__(self, path: tuple[Any, ...], at: tuple[Any, ...]) -> None:
        super().__init__(path, at)
        self.path = path
        self.at = at

    def __str__(self) -> str:
        return f"{self.at!r} holds a leaf, not a branch (path {self.path!r})"


class NotLeaf(LookupError):
    """A :class:`NestedMap` path names a branch where a leaf is needed.

    Raised when loading a branch as a value, and when storing a leaf over a subtree (which the
    origin silently allowed). ``path`` is the path the call was given (it is also ``at``).
    """

    def __init__(self, path: tuple[Any, ...]) -> None:
        super().__init__(path)
        self.path = path
        self.at = path

    def __str__(self) -> str:
        return f"{self.path!r} holds a branch, not a leaf"


class _Branch:
    """An inner node of a NestedMap: a Map of children plus the count of leaves below it."""

    __slots__ = ("count", "m")

    def __init__(self) -> None:
        self.m: Map[Any, Any] = Map()
        # Leaves in this subtree. Written only under the NestedMap's lock, read without it.
        # Invariant (outside a write): count > 0 for every branch except the root, i.e. empty
        # branches are pruned.
        self.count = 0


class NestedMap:
    """A concurrent map nested without bound: keys are paths, inner nodes are branches.

    ``nm.store(v, "a", "b")`` creates the branch ``"a"`` if needed and stores the leaf ``v`` at
    key ``"b"`` in it; ``nm.load("a", "b")`` returns ``v``; ``nm["a", "b"]`` does the same
    (indexing with a tuple is a path, indexing with anything else is a one-key path). Keys of any
    hashable type may be mixed; a tuple passed as one argument to a method is one key.

    Rules (the origin's bugs are not carried over):

    * every method that addresses a leaf needs at least one key: zero keys raise ValueError;
    * a missing path raises :class:`NotExist` (a KeyError); a path that runs through a leaf
      raises :class:`NotBranch`; a path that ends on a branch where a leaf is needed raises
      :class:`NotLeaf`, including storing a leaf over a subtree (it is never replaced silently);
    * deleting the last leaf of a branch prunes that branch (and any ancestor left empty), so
      "empty branch" and "no branch" are the same thing: an empty branch never exists;
    * :meth:`range` passes a fresh path tuple to each call, and False stops the whole walk.

    Concurrency: writes (:meth:`store`, :meth:`load_or_store`, :meth:`delete`, :meth:`clear`)
    are serialised by one lock per NestedMap and are atomic. Reads (:meth:`load`, :meth:`len`,
    the fast path of :meth:`load_or_store`) and walks (:meth:`range`, iteration) take no lock of
    their own; a walk is weakly consistent like :meth:`Map.range` (no leaf visited twice).
    :meth:`snapshot` is a consistent copy. ``len(nm)`` is the number of leaves, exact and O(1).
    """

    __slots__ = ("_lock", "_root")

    def __init__(self) -> None:
        # Serialises every write; makes a write's walk from the root and its pruning atomic.
        # Lock order: this lock, then a branch Map's internal lock (never the reverse).
        self._lock = threading.Lock()
        # Never replaced, never pruned; root.count is the number of leaves in the whole tree.
        self._root = _Branch()

    # ---- internals ----

    @staticmethod
    def _need_keys(op: str, keys: tuple[Any, ...]) -> None:
        if not keys:
            raise ValueError(f"NestedMap.{op} needs at least one key")

    def _branch_at(self, keys: tuple[Any, ...], path: tuple[Any, ...]) -> _Branch:
        """The branch at ``keys`` (root for no keys); NotExist/NotBranch otherwise. Lock-free."""
        b = self._root
        for i, k in enumerate(keys):
            v, ok = b.m.load(k)
            if not ok:
                raise NotExist(path, keys[: i + 1])
            if type(v) is not _Branch:
                raise NotBranch(path, keys[: i + 1])
            b = v
        return b

    def _put_locked(
        self, value: Any, keys: tuple[Any, ...], only_if_absent: bool
    ) -> tuple[Any, bool]:
        """Store (or load-or-store) a leaf. Checks the whole path before changing anything."""
        chain = [self._root]  # existing branches along keys[:-1], root first
        b = self._root
        for i in range(len(keys) - 1):
            v, ok = b.m.load(keys[i])
            if not ok:
                break
            if type(v) is not _Branch:
                raise NotBranch(keys, keys[: i + 1])
            b = v
            chain.append(b)
        depth = len(chain) - 1  # keys[:depth] exist as branches
        if depth == len(keys) - 1:
            last = keys[-1]
            old, ok = b.m.load(last)
            if ok:
                if type(old) is _Branch:
                    raise NotLeaf(keys)
                if only_if_absent:
                    return old, True
            b.m.store(last, value)
        else:
            # Build the missing part bottom-up and publish it with one store, so that readers
            # never see an empty branch.
            node = _Branch()
            node.m.store(keys[-1], value)
            node.count = 1
            for k in reversed(keys[depth + 1 : -1]):
                parent = _Branch()
                parent.m.store(k, node)
                parent.count = 1
                node = parent
            b.m.store(keys[depth], node)
            ok = False
        if not ok:
            for c in chain:
                c.count += 1
        return value, False

    def _leaves(self, b: _Branch, prefix: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
        """Depth-first ``(path, leaf)`` pairs below ``b``; iterative, so depth is unbounded."""
        stack = [(prefix, iter(b.m._promoted().items()))]
        while stack:
            pre, it = stack[-1]
            for k, e in it:
                v = e.p
                if v is _NIL or v is _EXPUNGED:
                    continue
                path = (*pre, k)
                if type(v) is _Branch:
                    stack.append((path, iter(v.m._promoted().items())))
                    break
                yield path, v
            else:
                stack.pop()

    # ---- public API ----

    def load(self, *keys: Any) -> Any:
        """Return the leaf stored at the path ``keys``.

        Raises ValueError for zero keys, :class:`NotExist` if the path is absent,
        :class:`NotBranch` if it runs through a leaf, :class:`NotLeaf` if it ends on a branch.
        Lock-free.
        """
        self._need_keys("load", keys)
        b = self._branch_at(keys[:-1], keys)
        v, ok = b.m.load(keys[-1])
        if not ok:
            raise NotExist(keys, keys)
        if type(v) is _Branch:
            raise NotLeaf(keys)
        return v

    def store(self, value: Any, *keys: Any) -> None:
        """Store the leaf ``value`` at the path ``keys``, creating missing branches.

        Replaces an existing leaf. Raises ValueError for zero keys, :class:`NotBranch` if the
        path runs through a leaf, and :class:`NotLeaf` if ``keys`` names a branch (a subtree is
        never replaced by a leaf; delete it first). On error nothing is changed.
        """
        self._need_keys("store", keys)
        with self._lock:
            self._put_locked(value, keys, only_if_absent=False)

    def load_or_store(self, value: Any, *keys: Any) -> tuple[Any, bool]:
        """Return ``(leaf, True)`` if a leaf is at ``keys``, else store ``value``.

        When nothing is stored at ``keys`` it stores ``value`` and returns ``(value, False)``.
        Exactly one of several racing callers stores. Errors as for :meth:`store`; a branch at
        ``keys`` raises :class:`NotLeaf` (the origin returned its internal map). Lock-free when
        the leaf is present.
        """
        self._need_keys("load_or_store", keys)
        try:
            return self.load(*keys), True
        except NotExist:
            pass
        with self._lock:
            return self._put_locked(value, keys, only_if_absent=True)

    def delete(self, *keys: Any) -> bool:
        """Delete the leaf, or the whole subtree, at ``keys``; return whether anything was there.

        Deleting an absent path is a no-op returning False. Branches left empty are pruned, up
        to (not including) the root. Raises ValueError for zero keys and :class:`NotBranch` if
        the path runs through a leaf. ``del nm[path]`` raises :class:`NotExist` instead of
        returning False.
        """
        self._need_keys("delete", keys)
        with self._lock:
            chain = [self._root]
            b = self._root
            for i in range(len(keys) - 1):
                v, ok = b.m.load(keys[i])
                if not ok:
                    return False
                if type(v) is not _Branch:
                    raise NotBranch(keys, keys[: i + 1])
                b = v
                chain.append(b)
            old, ok = b.m.load_and_delete(keys[-1])
            if not ok:
                return False
            removed = old.count if type(old) is _Branch else 1
            for c in chain:
                c.count -= removed
            # Prune: detach the highest non-root branch on the path that is now empty (all the
            # branches below it on the path are then empty too).
            for i in range(1, len(chain)):
                if chain[i].count == 0:
                    chain[i - 1].m.delete(keys[i - 1])
                    break
            return True

    def range(self, f: Callable[[tuple[Any, ...], Any], bool | None], *keys: Any) -> None:
        """Call ``f(path, leaf)`` for each leaf below ``keys`` (the whole tree for no keys).

        ``path`` is a new tuple holding the full path from the root, ``keys`` included. ``f``
        stops the whole walk by returning False (any false value except None). The walk is
        depth-first, takes no lock while ``f`` runs (``f`` may use the map) and is weakly
        consistent: no leaf is visited twice, concurrent changes may or may not be seen.

        Raises :class:`NotExist` if ``keys`` is absent, :class:`NotBranch` if it runs through or
        ends on a leaf, TypeError if ``f`` is not callable.
        """
        if not callable(f):
            raise TypeError(
                f"NestedMap.range needs a callable f(path, value), got {type(f).__name__}"
            )
        for path, v in self._leaves(self._branch_at(keys, keys), keys):
            r = f(path, v)
            if r is not None and not r:
                return

    def len(self, *keys: Any) -> int:
        """Return the number of leaves below ``keys`` (the whole tree for no keys). O(depth).

        Raises :class:`NotExist` if ``keys`` is absent (empty branches are pruned, so a branch
        whose last leaf was deleted is absent) and :class:`NotBranch` if it runs through or ends
        on a leaf.
        """
        return self._branch_at(keys, keys).count

    def clear(self) -> None:
        """Delete every leaf and branch."""
        with self._lock:
            self._root.m.clear()
            self._root.count = 0

    def snapshot(self, *keys: Any) -> dict[Any, Any]:
        """A consistent copy of the subtree at ``keys`` as nested ``dict`` s (branches as dicts).

        Leaves that are themselves dicts are indistinguishable from branches in the result; use
        :meth:`range` or iteration when that matters. Errors as for :meth:`range`.
        """
        with self._lock:
            b = self._branch_at(keys, keys)
            out: dict[Any, Any] = {}
            n = len(keys)
            for path, v in self._leaves(b, keys):
                d = out
                for k in path[n:-1]:
                    d = d.setdefault(k, {})
                d[path[-1]] = v
            return out

    def __len__(self) -> int:
        return self._root.count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """Iterate over the paths of all leaves, weakly consistent like :meth:`range`."""
        for path, _ in self._leaves(self._root, ()):
            yield path

    @staticmethod
    def _path(key: Any) -> tuple[Any, ...]:
        return key if type(key) is tuple else (key,)

    def __getitem__(self, key: Any) -> Any:
        return self.load(*self._path(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        self.store(value, *self._path(key))

    def __delitem__(self, key: Any) -> None:
        path = self._path(key)
        if not self.delete(*path):
            raise NotExist(path, path)

    def __contains__(self, key: object) -> bool:
        """Whether a leaf is stored at the path ``key`` (False for a branch or a bad path)."""
        path = self._path(key)
        if not path:
            return False
        try:
            self.load(*path)
        except LookupError:
            return False
        return True

    def __repr__(self) -> str:
        return f"NestedMap({self.snapshot()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        with self._lock:
            leaves = list(self._leaves(self._root, ()))
        return (_rebuild_nested, (leaves,))


def _rebuild_nested(leaves: list[tuple[tuple[Any, ...], Any]]) -> NestedMap:
    nm = NestedMap()
    for path, v in leaves:
        nm.store(v, *path)
    return nm

"""Owner references and claiming children (kube-controller-manager's ``ControllerRefManager``).

A child object names its controller in ``metadata.ownerReferences``: an entry with
``"controller": True`` and the owner's ``uid``. A controller finds its children by a label
selector, but the selector alone is not ownership: two controllers may select the same objects,
and a child whose labels were edited must be let go. :meth:`RefManager.claim` reconciles the
two, object by object, exactly as upstream's ``claimObject``:

========================================  ===================================================
the object is                             claim does
========================================  ===================================================
controlled by another owner (uid)         nothing; not claimed
ours and matching                         nothing; claimed (even while the owner is deleted)
ours and no longer matching               ``release(obj)``, unless the owner is being deleted;
                                          not claimed
an orphan, owner being deleted            nothing; not claimed
an orphan, not matching                   nothing; not claimed
an orphan, itself being deleted           nothing; not claimed
an orphan in another namespace            nothing; not claimed (a namespaced owner only)
an orphan, matching                       ``can_adopt()`` (once per manager), ``adopt(obj)``;
                                          claimed
========================================  ===================================================

``adopt`` and ``release`` do the writes (they add or remove the owner reference, usually with a
``guaranteed_update`` that checks the uid). A :class:`~goprims.storage.NotFound` from them means
the object is gone: not claimed, not an error. Any other exception is collected and returned, so
one failing object does not stop the others.

Objects are Kubernetes-shaped mappings: ``obj["metadata"]`` holds ``uid``, ``name``,
``namespace``, ``ownerReferences`` and ``deletionTimestamp`` (each optional).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from goprims.storage.errors import NotFound

__all__ = ["AdoptionRefused", "RefManager", "controller_of", "owner_reference"]


class AdoptionRefused(RuntimeError):
    """``can_adopt()`` returned False: this manager adopts nothing (e.g. its owner turned out
    to be deleted when re-read from the source of truth)."""


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    if type(obj) is dict:  # the common case, without the slower ABC checks below
        meta = obj.get("metadata")
        if type(meta) is dict:
            return meta
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(meta, Mapping):
        raise TypeError(f"object has no 'metadata' mapping: {obj!r:.200}")
    return meta


def _controller_ref(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The controller entry of ``metadata.ownerReferences`` itself (not a copy), or None."""
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") is True:
            return ref  # type: ignore[no-any-return]
    return None


def owner_reference(owner: Mapping[str, Any], *, kind: str, api_version: str) -> dict[str, Any]:
    """The controller owner reference a child of ``owner`` carries (``metav1.NewControllerRef``):
    ``{"apiVersion", "kind", "name", "uid", "controller": True, "blockOwnerDeletion": True}``.

    Raises :class:`ValueError` if ``owner`` has no ``metadata.uid`` (a reference without a uid
    would match every orphan) or if ``kind`` or ``api_version`` is empty.
    """
    meta = _meta(owner)
    uid = meta.get("uid")
    if not uid:
        raise ValueError("owner_reference: the owner has no metadata.uid")
    if not kind or not api_version:
        raise ValueError("owner_reference: kind and api_version must not be empty")
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta.get("name", ""),
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """A copy of the first owner reference of ``obj`` with ``"controller": True``, or None (an
    orphan)."""
    ref = _controller_ref(_meta(obj))
    return None if ref is None else dict(ref)


def _deleting(meta: Mapping[str, Any]) -> bool:
    return meta.get("deletionTimestamp") is not None


class RefManager:
    """Claims children for one ``owner`` (a ``ControllerRefManager`` for one sync pass).

    ``matches(obj) -> bool`` is the owner's selector (labels, plus any filters); ``adopt(obj)``
    makes ``owner`` the controller of ``obj`` and ``release(obj)`` removes that reference, both
    writing through to the source of truth. ``can_adopt()`` runs before the first adoption and
    **at most once per manager** (typically a fresh, uncached read of the owner checking that it
    is not being deleted): if it raises, or returns ``False`` (:exc:`AdoptionRefused`), every
    adoption of this manager fails with that error. Create a new manager for each sync pass, so
    the check is made again.
    """

    def __init__(
        self,
        owner: Mapping[str, Any],
        matches: Callable[[Any], bool],
        adopt: Callable[[Any], object],
        release: Callable[[Any], object],
        *,
        can_adopt: Callable[[], object] | None = None,
    ) -> None:
        meta = _meta(owner)
        if not meta.get("uid"):
            raise ValueError("RefManager: the owner has no metadata.uid")
        self.owner = owner
        self._uid = meta["uid"]
        self._namespace = meta.get("namespace") or ""
        self._owner_deleting = _deleting(meta)
        self._matches = matches
        self._adopt = adopt
        self._release = release
        self._can_adopt = can_adopt
        # can_adopt runs once: the first adoption takes the lock and records the verdict.
        self._can_adopt_lock = threading.Lock()
        self._can_adopt_done = False  # guarded by _can_adopt_lock
        self._can_adopt_error: BaseException | None = None  # guarded by _can_adopt_lock

    def _check_can_adopt(self) -> None:
        """Run ``can_adopt`` on the first call; raise its verdict on every call."""
        with self._can_adopt_lock:
            if not self._can_adopt_done:
                self._can_adopt_done = True
                if self._can_adopt is not None:
                    try:
                        if self._can_adopt() is False:
                            raise AdoptionRefused(
                                f"can_adopt() refused adoption for owner uid {self._uid!r}"
                            )
                    except Exception as exc:
                        self._can_adopt_error = exc
            err = self._can_adopt_error
        if err is not None:
            raise err

    def claim_object(self, obj: Any) -> bool:
        """Claim one object (see the module's table). Returns True if ``owner`` now controls it.
        Raises what ``adopt``/``release``/``can_adopt`` raised, except
        :class:`~goprims.storage.NotFound` (then False)."""
        meta = obj.get("metadata") if type(obj) is dict else None
        if type(meta) is not dict:
            meta = _meta(obj)
        ref = None
        for r in meta.get("ownerReferences") or ():  # inline _controller_ref: the hot path
            if r.get("controller") is True:
                ref = r
                break
        if ref is not None:
            if ref.get("uid") != self._uid:
                return False  # controlled by someone else
            if self._matches(obj):
                return True  # ours: claiming needs no write, so even while being deleted
            if self._owner_deleting:
                return False
            try:
                self._release(obj)
            except NotFound:
                pass  # gone: nothing to release
            return False
        # An orphan.
        if self._owner_deleting or not self._matches(obj):
            return False
        if _deleting(meta):
            return False
        if self._namespace and (meta.get("namespace") or "") != self._namespace:
            return False  # a namespaced owner adopts only in its own namespace
        self._check_can_adopt()
        try:
            self._adopt(obj)
        except NotFound:
            return False
        return True

    def claim(self, objects: Iterable[Any]) -> tuple[list[Any], list[Exception]]:
        """Claim each of ``objects``: returns ``(claimed, errors)``, the objects ``owner``
        controls now (in input order) and the exceptions of the objects whose adopt or release
        failed (those objects are not claimed; retry later)."""
        claimed: list[Any] = []
        errors: list[Exception] = []
        for obj in objects:
            try:
                ok = self.claim_object(obj)
            except Exception as exc:
                errors.append(exc)
                continue
            if ok:
                claimed.append(obj)
        return claimed, errors

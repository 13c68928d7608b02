"""``EtcdStorage``: the :class:`~goprims.storage.Storage` protocol on a real etcd v3 cluster.

Objects are kept the way kube-apiserver keeps them (``k8s.io/apiserver/pkg/storage/etcd3``):

* the value under ``prefix + key`` is the object's JSON (keys sorted) **without**
  ``metadata.resourceVersion``;
* an object's resourceVersion **is** etcd's mod revision of its key, as a decimal string: every
  object returned by create, get, update, list and watch is stamped with it; a list's version is
  the revision the whole list was read at; a deleted object carries the deletion's revision;
* ``create`` is a transaction guarded by ``mod_revision(key) == 0`` (absent), so of two creators
  exactly one wins (:class:`AlreadyExists`); ``update`` is a compare-and-swap on the mod revision
  (:class:`Conflict`), written as one transaction that also skips a write that would change
  nothing; ``guaranteed_update`` repeats read / ``fn`` / compare-and-swap, reusing the current value
  that a failed swap returns instead of reading again; ``delete`` optionally guards on the version;
* ``watch(prefix, rv)`` opens an etcd watch at ``start_revision = rv + 1`` ("every change after
  rv") with previous values, so a deletion carries the deleted object; a version older than the
  compaction point raises :class:`ResourceExpired` from ``watch()``, and a running watch whose next
  change etcd can no longer deliver ends with it.

The client is our own, over etcd's JSON gRPC gateway, with the standard library only
(:mod:`goprims.storage.etcd._gateway` explains the choice). The ``goprims[etcd]`` extra therefore
installs nothing.

Values that are not a JSON object with a ``metadata`` object (written under the prefix by
something else) are treated as **absent**: ``list`` and ``watch`` log a warning and skip them; a
watch turns an object overwritten by such a value into ``DELETED``, and such a value replaced by an
object into ``ADDED``. So an informer's cache always equals what ``list`` returns, and a watch
never dies of a bad value. ``get`` and the updates raise :class:`CorruptObject` for such a key;
``delete`` removes it.

Differences from :class:`~goprims.storage.MemoryStorage`, all inherited from etcd: a running
watch has already received from etcd the events it buffers, so a later compaction does not take
them back (it ends the watch only when the watch must be reopened -- after a lost connection -- at
a compacted revision); and etcd never compacts by itself unless started with
``--auto-compaction-*``.

The package is split along those seams: :mod:`~goprims.storage.etcd.codec` (the stored form of
an object), :mod:`~goprims.storage.etcd.storage` (:class:`EtcdStorage`: reads, writes, lists,
compaction), :mod:`~goprims.storage.etcd.watch` (:class:`EtcdWatch`: the reader thread and its
reopening) and ``_gateway`` (the HTTP/JSON client). The errors are defined in
:mod:`goprims.storage.errors` and re-exported here.
"""

from __future__ import annotations

from goprims.storage.errors import (
    AuthenticationFailed,
    CorruptObject,
    EtcdError,
    StorageUnavailable,
)
from goprims.storage.etcd.storage import EtcdStorage
from goprims.storage.etcd.watch import EtcdWatch

__all__ = [
    "AuthenticationFailed",
    "CorruptObject",
    "EtcdError",
    "EtcdStorage",
    "EtcdWatch",
    "StorageUnavailable",
]

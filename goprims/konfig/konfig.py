""":class:`Konfig`: configuration that reloads itself from a watched storage object (the
origin's konfig, ``jindezgm/konfig``, done right).

One ConfigMap-shaped object ``{"metadata": {...}, "data": {str: str}}`` at a storage key is
followed by a :class:`~goprims.cache.SharedIndexInformer`, so a dropped watch is re-opened and an
expired one (compaction) relisted. Each change is parsed once into an immutable *snapshot*
(revision, values, registered typed values) and published by one attribute assignment: readers
never lock, they read whatever snapshot is current.

Differences from the origin (its five quirks, ``origin-designs-and-sync.md`` §1.7, each pinned by
a test): revisions are compared as numbers, not strings ("10" > "9"); the watch survives drops and
compaction (the informer's reflector); :meth:`Konfig.revision` is ``0`` before the object exists
instead of panicking; mounting and unmounting environment variables is serialised under one lock
(the origin resets an ``atomic.Value`` racily); ``get_bool`` documents "false" as false (the
origin's comment says "FaLsE is true").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from goprims.cache import DeletedFinalStateUnknown, SharedIndexInformer, wait_for_cache_sync
from goprims.chan import Chan, ChanClosed, go
from goprims.konfig.convert import freeze, thaw, to_bool, to_float, to_int, to_str
from goprims.konfig.decode import decoder_for
from goprims.storage import AlreadyExists, NotFound, Storage, list_watch

__all__ = ["NOT_FOUND", "PARSE_FAILED", "Konfig", "KonfigValueError"]

log = logging.getLogger("goprims.konfig")

NOT_FOUND = -1
"""The revision returned for keys that are not there (the origin's ``NotFound``)."""

PARSE_FAILED = -2
"""The revision returned when a value is there but does not convert to the type asked for, or
a registered sub-tree never decoded (the origin's ``ParseFailed``)."""

YAML_PREFIX = "---\n"

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class KonfigValueError(ValueError):
    """A configuration value failed to parse (YAML) or to decode (a registered type).

    Passed to ``on_error`` and logged; the last good value of that key stays in effect.
    ``keys`` is the path of the value, ``revision`` the object's revision that carried it; the
    underlying error is ``__cause__``.
    """

    def __init__(self, message: str, keys: tuple[str, ...], revision: int) -> None:
        super().__init__(message)
        self.keys = keys
        self.revision = revision


class _Snapshot:
    """One published state; never modified after construction (readers share it)."""

    __slots__ = ("registered", "revision", "values")

    def __init__(
        self, revision: int, values: Mapping[str, Any], registered: Mapping[tuple[str, ...], Any]
    ) -> None:
        self.revision = revision  # 0 while the object is absent
        self.values = values  # frozen data: str -> str, or the frozen YAML of "---\n" values
        self.registered = registered  # keys -> typed value (absent: not found / never decoded)


_ABSENT = _Snapshot(0, _EMPTY, {})


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _meta_field(obj: Any, name: str) -> Any:
    meta = _field(obj, "metadata")
    if meta is None:
        return None
    value = _field(meta, name)
    if value is None and name == "resourceVersion":
        value = _field(meta, "resource_version")
    return value


class _Handler:
    """The informer's event handler: filters our object, hands it to the konfig."""

    def __init__(self, k: Konfig) -> None:
        self._k = k

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        self._k._apply(obj, deleted=False)

    def on_update(self, old: Any, new: Any) -> None:
        self._k._apply(new, deleted=False)

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            obj = obj.obj
        self._k._apply(obj, deleted=True)


class Konfig:
    """Hot configuration from the object at ``key`` in ``storage`` (see the module docstring).

    The object is ConfigMap-shaped: ``{"metadata": {"name": ...}, "data": {str: str}}``. A
    value starting with ``"---\\n"`` is YAML and is walked by nested keys; other values are
    strings. ``key`` is watched as a storage prefix, so objects under longer keys could show
    up: only the one whose ``metadata.name`` is ``name`` (default: the last ``/``-separated
    part of ``key``) is followed, as the origin follows one ConfigMap by name.

    Construction waits (at most ``sync_timeout`` seconds, else :class:`TimeoutError`) until the
    informer has listed the storage and this konfig has applied what it found. ``on_error(exc,
    revision)`` is called with a :class:`KonfigValueError` for every value that fails to parse
    or decode (the last good value stays); errors are logged too. :meth:`close` (or leaving a
    ``with`` block) stops following; reads keep answering from the last snapshot. ``on_error``
    may call :meth:`close`: it runs on the informer's listener thread, so that ``close`` returns
    without waiting for the informer, and no later change is applied.

    Every method may be called from any thread; readers (:meth:`get`, the typed getters,
    :meth:`revision`) never take a lock.
    """

    def __init__(
        self,
        storage: Storage,
        key: str,
        *,
        name: str | None = None,
        on_error: Callable[[KonfigValueError, int], object] | None = None,
        sync_timeout: float = 10.0,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty str, got {key!r}")
        self._storage = storage
        self._key = key
        self._name = name if name is not None else key.rstrip("/").rsplit("/", 1)[-1]
        self._on_error = on_error
        self._snap = _ABSENT  # the current snapshot; replaced (never mutated) under _write
        # Serialises writers of the snapshot: informer events and register(). Readers never
        # take it.
        self._write = threading.Lock()
        self._last_rv = 0  # highest resourceVersion applied (deletions included); under _write
        self._decoders: dict[tuple[str, ...], Callable[[Any], Any]] = {}  # under _write
        self._subs: tuple[Chan[int], ...] = ()  # copy-on-write, under _write
        self._closed = False  # under _write
        self._applying = threading.local()  # .active: this thread is in _apply (the listener)
        # The environment mount: which keys, and the variables this konfig set. Under _env.
        self._env = threading.Lock()
        self._env_keys: tuple[str, ...] | None = None
        self._env_set: dict[str, str] = {}

        self._informer = SharedIndexInformer(list_watch(storage, key))
        reg = self._informer.add_event_handler(_Handler(self))
        self._stop: Chan[None] = Chan()
        self._stopped: Chan[None] = Chan()
        go(self._run_informer)
        try:
            if not wait_for_cache_sync(self._stop, reg.synced(), timeout=sync_timeout):
                raise TimeoutError("konfig closed before its first sync")  # pragma: no cover
        except TimeoutError:
            self.close()
            raise TimeoutError(
                f"konfig {key!r}: the storage was not listed within {sync_timeout} s"
            ) from None

    def _run_informer(self) -> None:
        try:
            self._informer.run(self._stop)
        finally:
            self._stopped.close()

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop following the storage, close every :meth:`subscribe` channel. Idempotent.
        Reads keep returning the last snapshot; :meth:`set` still writes."""
        with self._write:
            if self._closed:
                return
            self._closed = True
            subs, self._subs = self._subs, ()
        self._stop.close()
        # Called from on_error, this is the informer's listener thread: waiting for the
        # informer to stop would wait for ourselves. It stops once the handler returns, and
        # _apply ignores anything after close.
        if not getattr(self._applying, "active", False):
            self._stopped.recv_ok()
        for ch in subs:
            ch.close()

    def __enter__(self) -> Konfig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Konfig {self._key!r} name={self._name!r} revision={self._snap.revision}>"

    # ------------------------------------------------------------------ readers (lock-free)

    def revision(self) -> int:
        """The object's ``resourceVersion`` as a number; ``0`` while the object is absent
        (also before it ever existed: the origin panicked there)."""
        return self._snap.revision

    def get(self, *keys: str) -> tuple[Any, int]:
        """``(value, revision)`` at the nested ``keys``.

        A registered sub-tree (:meth:`register`) returns its typed value. Otherwise the walk
        goes through the data (a key of ``data``, then keys of its YAML mappings); ``value`` is
        the string, or the read-only YAML value (mappings are read-only mappings, lists are
        tuples). No keys: the whole data mapping. Missing: ``(None, NOT_FOUND)``; also while the
        object is absent. Never blocks, never locks.
        """
        snap = self._snap
        if snap.registered:
            try:
                return snap.registered[keys], snap.revision
            except KeyError:
                pass
            except TypeError:  # an unhashable key: it cannot be there
                return None, NOT_FOUND
        if snap.revision == 0:
            return None, NOT_FOUND
        cur: Any = snap.values
        try:
            for k in keys:
                cur = cur[k]
        except (KeyError, TypeError, IndexError):
            return None, NOT_FOUND
        return cur, snap.revision

    def _converted(self, keys: tuple[str, ...], conv: Callable[[Any], Any], zero: Any) -> Any:
        snap = self._snap
        if snap.revision == 0:
            return zero, NOT_FOUND
        cur: Any = snap.values
        try:
            for k in keys:
                cur = cur[k]
        except (KeyError, TypeError, IndexError):
            return zero, NOT_FOUND
        try:
            return conv(cur), snap.revision
        except ValueError:
            return zero, PARSE_FAILED

    def get_bool(self, *keys: str) -> tuple[bool, int]:
        """The value at ``keys`` as a bool: a bool; a number (non-zero is true); the strings
        "true" and "false" in any case ("FaLsE" is false); a numeric string (non-zero is true).
        ``(False, NOT_FOUND)`` if missing, ``(False, PARSE_FAILED)`` if it does not convert.
        Reads the data, not registered values (as the origin)."""
        return self._converted(keys, to_bool, False)  # type: ignore[no-any-return]

    def get_int(self, *keys: str) -> tuple[int, int]:
        """The value at ``keys`` as an int: an int; a float truncated toward zero; a bool
        (1/0); "true"/"false" (1/0); a numeric string (integer literals exactly, others
        truncated). ``(0, NOT_FOUND)`` / ``(0, PARSE_FAILED)`` otherwise."""
        return self._converted(keys, to_int, 0)  # type: ignore[no-any-return]

    def get_float(self, *keys: str) -> tuple[float, int]:
        """The value at ``keys`` as a float: a number or a numeric string (a bool does not
        convert, as in the origin). ``(0.0, NOT_FOUND)`` / ``(0.0, PARSE_FAILED)`` otherwise."""
        return self._converted(keys, to_float, 0.0)  # type: ignore[no-any-return]

    def get_str(self, *keys: str) -> tuple[str, int]:
        """The value at ``keys`` as a str: strings as they are, bools as "true"/"false",
        numbers as Go's ``%v`` prints them, null as "", mappings and lists as JSON.
        ``("", NOT_FOUND)`` if missing."""
        return self._converted(keys, to_str, "")  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ registration

    def register(self, cls_or_fn: Any, *keys: str) -> tuple[Any, int]:
        """Decode the sub-tree at ``keys`` into a typed value now and again on every change;
        afterwards :meth:`get` with the same ``keys`` returns the typed value.

        ``cls_or_fn`` is a dataclass type (built from the mapping, fields converted weakly:
        see :mod:`goprims.konfig.decode`) or any callable taking the sub-tree as plain dicts and
        lists. Returns ``(value, revision)``: ``(None, NOT_FOUND)`` while the sub-tree is
        missing, ``(None, PARSE_FAILED)`` if it does not decode (``on_error`` is called; the
        registration stays, so a later good value is picked up). A later value that fails to
        decode keeps the last good one. Registering the same keys again replaces the decoder.
        """
        decode = decoder_for(cls_or_fn)
        keys = tuple(keys)
        with self._write:
            snap = self._snap
            self._decoders[keys] = decode
            registered = dict(snap.registered)
            registered.pop(keys, None)
            errors = self._decode_into(registered, keys, decode, snap.values, snap.revision)
            self._snap = _Snapshot(snap.revision, snap.values, registered)
        self._report(errors)
        if keys in registered:
            return registered[keys], snap.revision
        return None, PARSE_FAILED if errors else NOT_FOUND

    def _decode_into(
        self,
        registered: dict[tuple[str, ...], Any],
        keys: tuple[str, ...],
        decode: Callable[[Any], Any],
        values: Mapping[str, Any],
        revision: int,
    ) -> list[KonfigValueError]:
        """Decode ``keys`` from ``values`` into ``registered`` (left as is on failure)."""
        if revision == 0:
            registered.pop(keys, None)
            return []
        cur: Any = values
        try:
            for k in keys:
                cur = cur[k]
        except (KeyError, TypeError, IndexError):
            registered.pop(keys, None)
            return []
        try:
            registered[keys] = decode(cur)
        except Exception as exc:
            err = KonfigValueError(
                f"konfig: {'/'.join(keys) or '(root)'} at revision {revision} does not decode: "
                f"{exc}",
                keys,
                revision,
            )
            err.__cause__ = exc
            return [err]
        return []

    # ------------------------------------------------------------------ environment

    def mount_env(self, *keys: str) -> None:
        """Export the configuration at ``keys`` as environment variables, now and after every
        change: each leaf of the mapping there (nested mappings are walked) sets the variable
        named by its own key to its :meth:`get_str` form; a leaf at ``keys`` itself is named by
        the last key. Variables whose leaf disappears are removed. Replaces an earlier mount."""
        with self._env:
            self._env_keys = tuple(keys)
            self._refresh_env_locked()

    def unmount_env(self) -> None:
        """Stop mounting and remove every variable this konfig set. Idempotent; safe against
        a concurrent change (both run under one lock)."""
        with self._env:
            self._env_keys = None
            for name in self._env_set:
                os.environ.pop(name, None)
            self._env_set = {}

    def _refresh_env_locked(self) -> None:
        keys = self._env_keys
        if keys is None:
            return
        want: dict[str, str] = {}
        value, rev = self.get(*keys)
        if rev >= 0:
            if isinstance(value, Mapping):
                _leaves(value, want)
            elif keys:
                want[keys[-1]] = to_str(value)
        for name in self._env_set:
            if name not in want:
                os.environ.pop(name, None)
        for name, v in want.items():
            if os.environ.get(name) != v:
                os.environ[name] = v
        self._env_set = want

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self) -> Chan[int]:
        """A channel receiving the revision of each new snapshot (``0`` when the object is
        deleted). It holds at most one unreceived revision, the latest: a slow subscriber skips
        intermediate revisions but never misses the last one, and never slows the konfig down.
        Closed by :meth:`close` (already closed if the konfig is)."""
        ch: Chan[int] = Chan(1)
        with self._write:
            if not self._closed:
                self._subs = (*self._subs, ch)
                return ch
        ch.close()
        return ch

    def unsubscribe(self, ch: Chan[int]) -> None:
        """Stop sending to ``ch`` and close it. Unknown channels are ignored."""
        with self._write:
            if ch not in self._subs:
                return
            self._subs = tuple(c for c in self._subs if c is not ch)
        ch.close()

    # ------------------------------------------------------------------ writer

    def set(self, data: Mapping[str, Any]) -> int:
        """Replace the object's ``data`` with ``data`` through ``guaranteed_update`` (creating
        the object, named ``name``, if absent); return the revision written (the current one if
        nothing changed). String values are stored as they are; any other value (a mapping, a
        list, a number) is stored as YAML, ``"---\\n"`` followed by its dump. Raises
        :class:`TypeError` for a non-mapping or a non-str key. Watchers, this konfig included,
        see the change through the storage."""
        if not isinstance(data, Mapping):
            raise TypeError(f"set needs a mapping, not {type(data).__name__}")
        encoded: dict[str, str] = {}
        for k, v in data.items():
            if not isinstance(k, str):
                raise TypeError(f"data keys must be str, not {type(k).__name__}")
            encoded[k] = v if isinstance(v, str) else YAML_PREFIX + _dump_yaml(thaw(v))

        def replace(current: Any) -> Any:
            new = dict(current) if isinstance(current, Mapping) else current
            if isinstance(new, dict):
                new["data"] = dict(encoded)
            else:
                new.data = dict(encoded)
            return new

        while True:
            try:
                obj = self._storage.guaranteed_update(self._key, replace)
            except NotFound:
                try:
                    obj = self._storage.create(
                        self._key, {"metadata": {"name": self._name}, "data": dict(encoded)}
                    )
                except AlreadyExists:
                    continue  # created meanwhile: update that
            return int(_meta_field(obj, "resourceVersion") or 0)

    # ------------------------------------------------------------------ applying changes

    def _apply(self, obj: Any, *, deleted: bool) -> None:
        """Apply an informer event (on the informer's listener thread, one at a time)."""
        self._applying.active = True
        try:
            self._apply_event(obj, deleted=deleted)
        finally:
            self._applying.active = False

    def _apply_event(self, obj: Any, *, deleted: bool) -> None:
        if _meta_field(obj, "name") != self._name:
            return
        raw_rv = _meta_field(obj, "resourceVersion")
        try:
            rv = int(raw_rv)
            if rv <= 0:
                raise ValueError("not positive")
        except (TypeError, ValueError):
            log.error("konfig %r: ignoring an object with resourceVersion %r", self._key, raw_rv)
            return
        errors: list[KonfigValueError] = []
        with self._write:
            if self._closed:  # close() from on_error: it stopped following
                return
            if rv <= self._last_rv:  # stale or repeated: compared as numbers ("10" > "9")
                return
            self._last_rv = rv
            if deleted:
                snap = _ABSENT
            else:
                values, errors = self._parse(_field(obj, "data"), rv)
                registered: dict[tuple[str, ...], Any] = dict(self._snap.registered)
                for keys, decode in self._decoders.items():
                    errors += self._decode_into(registered, keys, decode, values, rv)
                snap = _Snapshot(rv, values, registered)
            self._snap = snap
            subs = self._subs
        with self._env:
            self._refresh_env_locked()
        self._report(errors)
        for ch in subs:
            _offer_latest(ch, snap.revision)

    def _parse(self, data: Any, rv: int) -> tuple[Mapping[str, Any], list[KonfigValueError]]:
        """The frozen values of ``data``; a value that fails keeps its last good value."""
        previous = self._snap.values
        errors: list[KonfigValueError] = []
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            errors.append(
                KonfigValueError(
                    f"konfig: data at revision {rv} is a {type(data).__name__}, not a mapping",
                    (),
                    rv,
                )
            )
            return previous, errors
        values: dict[str, Any] = {}
        for k, v in data.items():
            if isinstance(v, str) and v.startswith(YAML_PREFIX):
                try:
                    values[k] = freeze(_load_yaml(v))
                    continue
                except Exception as exc:
                    err = KonfigValueError(
                        f"konfig: {k!r} at revision {rv} is not valid YAML: {exc}", (k,), rv
                    )
                    err.__cause__ = exc
            elif isinstance(v, str):
                values[k] = v
                continue
            else:
                err = KonfigValueError(
                    f"konfig: {k!r} at revision {rv} is a {type(v).__name__}, not a str", (k,), rv
                )
            errors.append(err)
            if k in previous:
                values[k] = previous[k]  # the last good value stays
        return MappingProxyType(values), errors

    def _report(self, errors: list[KonfigValueError]) -> None:
        for err in errors:
            log.error("%s (keeping the last good value)", err)
            if self._on_error is not None:
                try:
                    self._on_error(err, err.revision)
                except Exception:
                    log.exception("konfig %r: on_error raised", self._key)


def _leaves(m: Mapping[str, Any], out: dict[str, str]) -> None:
    for k, v in m.items():
        if isinstance(v, Mapping):
            _leaves(v, out)
        else:
            out[k] = to_str(v)


def _offer_latest(ch: Chan[int], revision: int) -> None:
    """Put ``revision`` in the one-slot ``ch``, replacing an older unreceived one."""
    while True:
        try:
            ch.send(revision, timeout=0)
            return
        except TimeoutError:
            try:
                ch.recv_ok(timeout=0)  # drop the stale revision
            except TimeoutError:
                pass
        except ChanClosed:  # unsubscribed meanwhile
            return


def _load_yaml(text: str) -> Any:
    from goprims.framing._yaml import safe_load

    return safe_load(text)


def _dump_yaml(value: Any) -> str:
    from goprims.framing._yaml import safe_dump

    return safe_dump(value)

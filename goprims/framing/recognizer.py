"""Decoding data of an unknown format by asking each decoder whether it recognizes it
(apimachinery's ``recognizer.NewDecoder``), with three ready formats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from goprims.framing._yaml import require_yaml, safe_load
from goprims.framing.errors import NoMatch

__all__ = [
    "Decoder",
    "JSONFormat",
    "PrefixFormat",
    "Recognizer",
    "RecognizingDecoder",
    "YAMLFormat",
]

_ASCII_SPACE = b" \t\n\r\v\f"


@runtime_checkable
class Decoder(Protocol):
    """Anything that decodes a whole frame: ``decode(data: bytes) -> object``, raising when the
    data is not in its format."""

    def decode(self, data: bytes, /) -> Any:
        """The object ``data`` encodes; raises when ``data`` is not in this format."""
        ...


@runtime_checkable
class Recognizer(Decoder, Protocol):
    """A :class:`Decoder` that can also tell, from the first bytes, whether data is its format:
    ``recognizes(peek) -> (ok, unknown)``. ``ok`` means "mine"; ``unknown`` means "cannot tell
    (from this much)", which earns a try in the second pass; ``(False, False)`` means "not
    mine", and the decoder is not tried at all."""

    def recognizes(self, peek: bytes, /) -> tuple[bool, bool]:
        """``(ok, unknown)`` for data starting with ``peek``."""
        ...


class RecognizingDecoder:
    """Tries its decoders in two passes (apimachinery's recognizer):

    1. In order, each decoder that has ``recognizes`` is asked about ``data``. The **first** that
       answers ``ok`` decodes it, and its result or exception is final (as upstream). One that
       answers ``unknown`` is set aside; one that answers ``(False, False)`` is dropped; one
       whose ``recognizes`` raises is dropped and its exception remembered.
    2. The set-aside decoders, and the decoders without ``recognizes``, are tried in the order
       given; the first that decodes without raising wins.

    Nothing decodes: :class:`~goprims.framing.NoMatch`, chained from the last exception seen.
    A ``RecognizingDecoder`` is itself a :class:`Recognizer` (ok if any of its decoders says
    ok; unknown if none does and any says unknown), so decoders nest.
    """

    def __init__(self, decoders: Iterable[Decoder]) -> None:
        self._decoders = tuple(decoders)
        for d in self._decoders:
            if not callable(getattr(d, "decode", None)):
                raise TypeError(f"{d!r} has no decode(data) method")

    @property
    def decoders(self) -> tuple[Decoder, ...]:
        """The decoders, in the order they are tried."""
        return self._decoders

    def recognizes(self, peek: bytes) -> tuple[bool, bool]:
        """``(True, False)`` if a decoder recognizes ``peek``; else ``(False, unknown)`` with
        ``unknown`` true if any decoder could not tell. Decoders whose ``recognizes`` raises
        are passed over; if that left no answer, the last exception propagates."""
        any_unknown = False
        last_error: Exception | None = None
        for d in self._decoders:
            recognizes = getattr(d, "recognizes", None)
            if recognizes is None:
                continue
            try:
                ok, unknown = recognizes(peek)
            except Exception as exc:
                last_error = exc
                continue
            any_unknown = any_unknown or unknown
            if ok:
                return True, False
        if last_error is not None and not any_unknown:
            raise last_error
        return False, any_unknown

    def decode(self, data: bytes) -> Any:
        """Decode ``data`` with the first decoder that takes it (the two passes above)."""
        last_error: BaseException | None = None
        second_pass: list[Decoder] = []
        for d in self._decoders:
            recognizes = getattr(d, "recognizes", None)
            if recognizes is None:
                second_pass.append(d)
                continue
            try:
                ok, unknown = recognizes(data)
            except Exception as exc:
                last_error = exc
                continue
            if unknown:
                second_pass.append(d)
            elif ok:
                return d.decode(data)
        for d in second_pass:
            try:
                return d.decode(data)
            except Exception as exc:
                last_error = exc
        raise NoMatch("no serialization format matched the provided data") from last_error


class JSONFormat:
    """JSON: recognizes data whose first non-space byte is ``{`` (apimachinery's
    ``IsJSONBuffer``; anything else is "not mine", so a JSON array or scalar is only decoded
    when the format is used directly); decodes with ``json.loads``."""

    def recognizes(self, peek: bytes) -> tuple[bool, bool]:
        """``(True, False)`` when ``peek`` starts, after spaces, with ``{``."""
        return peek.lstrip(_ASCII_SPACE).startswith(b"{"), False

    def decode(self, data: bytes) -> Any:
        """``json.loads(data)``."""
        return json.loads(data)


class YAMLFormat:
    """YAML: cannot tell YAML from other text by its first bytes, so it always answers
    "unknown" and is tried in the second pass (apimachinery's YAML serializer does the same);
    decodes one document with ``yaml.safe_load`` (PyYAML needed; checked at construction).

    With ``mappings_only=True`` (the default) a document must be a mapping, as a Kubernetes
    object is: plain text is valid YAML (a string), and would otherwise match anything."""

    def __init__(self, *, mappings_only: bool = True) -> None:
        require_yaml()
        self._mappings_only = mappings_only

    def recognizes(self, peek: bytes) -> tuple[bool, bool]:
        """Always ``(False, True)``: unknown."""
        return False, True

    def decode(self, data: bytes) -> Any:
        """``yaml.safe_load(data)``; :class:`ValueError` if it is not a mapping (when
        ``mappings_only``)."""
        value = safe_load(data)
        if self._mappings_only and not isinstance(value, dict):
            raise ValueError(f"YAML document is a {type(value).__name__}, not a mapping")
        return value


class PrefixFormat:
    """A format marked by a magic prefix, such as Kubernetes protobuf's ``k8s\\x00``:
    recognizes data starting with ``prefix`` and decodes what follows it with ``decode``."""

    def __init__(self, prefix: bytes, decode: Any) -> None:
        if not prefix:
            raise ValueError("prefix must not be empty")
        if not callable(decode):
            raise TypeError("decode must be callable")
        self._prefix = bytes(prefix)
        self._decode = decode

    def recognizes(self, peek: bytes) -> tuple[bool, bool]:
        """``(True, False)`` when ``peek`` starts with the prefix."""
        return peek.startswith(self._prefix), False

    def decode(self, data: bytes) -> Any:
        """``decode(data[len(prefix):])``; :class:`ValueError` if the prefix is missing."""
        if not data.startswith(self._prefix):
            raise ValueError(f"data does not start with {self._prefix!r}")
        return self._decode(data[len(self._prefix) :])

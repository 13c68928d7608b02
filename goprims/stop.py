"""The stop signal of a long-running loop (an informer's ``run``, a reflector, a queue's flusher):
a :class:`~goprims.chan.Chan` that the caller closes (client-go's ``stopCh``) or a
:class:`~goprims.context.Context` (its :meth:`~goprims.context.Context.done` channel).

:data:`Stop` is the type such parameters take; :func:`stop_chan` turns either form into the one
channel a loop selects on. A module that runs until stopped takes ``stop: Stop`` and calls
:func:`stop_chan` once; it does not write its own conversion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from goprims.chan import Chan

if TYPE_CHECKING:
    from goprims.context import Context

__all__ = ["Stop", "stop_chan"]

Stop: TypeAlias = "Chan[Any] | Context"
"""A stop signal: a ``Chan`` the caller closes, or a ``Context`` (done when cancelled)."""


def stop_chan(stop: Stop) -> Chan[Any]:
    """The channel that closes on stop: ``stop`` itself if it is a :class:`~goprims.chan.Chan`,
    ``stop.done()`` for a :class:`~goprims.context.Context` (or any object whose ``done()``
    returns a ``Chan``). Anything else raises :class:`TypeError`.

    A stop channel is only ever closed, never sent on: a loop may test ``ch.closed`` between steps
    and select on ``Recv(ch)`` while it waits.
    """
    if isinstance(stop, Chan):
        return stop
    done = getattr(stop, "done", None)
    if callable(done):
        ch = done()
        if isinstance(ch, Chan):
            return ch
    raise TypeError(f"stop must be a Chan or a Context, not {type(stop).__name__}")

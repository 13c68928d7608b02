"""The one exception reporter: where goprims sends an exception that nobody can receive.

A callback on the timer thread, a ``go()`` task, a pool worker's fire-and-forget task, an
``after_func`` function, a ``WaitGroup.go`` task: an exception escaping any of them has no caller
to propagate to. Each hands it to :func:`report_exception`, which treats it as an uncaught
exception of the current thread (:func:`threading.excepthook`, which tests and applications can
replace), and never raises itself, so the thread that reports keeps running.
"""

from __future__ import annotations

import threading
import traceback

__all__ = ["report_exception"]


def report_exception(exc: BaseException) -> None:
    """Hand ``exc`` to :func:`threading.excepthook`, as an uncaught exception of this thread.

    Never raises: should the hook itself fail, its error and ``exc`` are printed to stderr
    (as the interpreter does for a failing ``sys.excepthook``).
    """
    try:
        args = (type(exc), exc, exc.__traceback__, threading.current_thread())
        threading.excepthook(threading.ExceptHookArgs(args))
    except BaseException:
        try:
            traceback.print_exc()
            traceback.print_exception(type(exc), exc, exc.__traceback__)
        except BaseException:  # pragma: no cover - stderr is gone
            pass

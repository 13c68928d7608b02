"""Suite-wide fixtures: every test gets a timeout (pytest.ini) and a thread-leak check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# The helper modules the tests import. They are not named test_*.py, so pytest neither collects
# them as tests nor rewrites their asserts by itself: register them here, before any test module
# imports them, so that a failing assert inside a helper reports its operands in full.
pytest.register_assert_rewrite(
    "chan_support",
    "etcd_server",
    "examples_support",
    "fifo_support",
    "framing_support",
    "pool_support",
    "scheduling_support",
    "storage_support",
    "sync_support",
)

# Threads goprims may keep briefly after a test: the shared timer thread exits once no timer is
# pending, and the default go() pool's idle workers exit after their expiry.
_TRANSIENT_PREFIXES = ("goprims-timer", "goprims-go")


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()}


def wait_threads_gone(
    before: set[threading.Thread], timeout: float = 5.0, skip_transient: bool = False
) -> set[threading.Thread]:
    """Wait (by joining, not polling a flag) until threads started since ``before`` have ended."""
    deadline = time.monotonic() + timeout

    def pending() -> set[threading.Thread]:
        new = _live_threads() - before
        if skip_transient:
            new = {t for t in new if not t.name.startswith(_TRANSIENT_PREFIXES)}
        return new

    for t in pending():
        t.join(max(0.0, deadline - time.monotonic()))
    return pending()


@pytest.fixture(autouse=True)
def no_thread_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a non-daemon or non-goprims thread running."""
    before = _live_threads()
    yield
    if request.node.get_closest_marker("allow_thread_leak"):
        return
    left = wait_threads_gone(before, skip_transient=True)
    assert not left, f"threads leaked by this test: {sorted(t.name for t in left)}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_thread_leak: skip the thread-leak check")


@pytest.fixture(scope="session", autouse=True)
def no_threads_after_suite() -> Iterator[None]:
    """After the whole suite no goprims thread is left running, transient ones included."""
    yield
    left = wait_threads_gone(set(), timeout=10.0)
    assert not left, f"threads still running after the suite: {sorted(t.name for t in left)}"

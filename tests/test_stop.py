"""goprims.stop: a stop signal is a Chan or a Context; stop_chan gives the channel to select on."""

from __future__ import annotations

import pytest

from goprims.chan import Chan
from goprims.context import background, with_cancel
from goprims.stop import stop_chan


def test_a_chan_is_its_own_stop_channel() -> None:
    ch: Chan[None] = Chan()
    assert stop_chan(ch) is ch


def test_a_context_stops_through_its_done_channel() -> None:
    ctx, cancel = with_cancel(background())
    ch = stop_chan(ctx)
    assert ch is ctx.done()
    assert not ch.closed
    cancel()
    assert ch.closed


@pytest.mark.parametrize("bad", [None, 1, "stop", object()])
def test_anything_else_is_a_type_error_naming_its_type(bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        stop_chan(bad)  # type: ignore[arg-type]


def test_the_cache_layer_uses_the_one_conversion() -> None:
    import goprims.cache.reflector
    import goprims.cache.shared_informer

    assert goprims.cache.reflector.stop_chan is stop_chan
    # The module imports the name for its own use, not as an export: the test looks inside.
    assert goprims.cache.shared_informer.stop_chan is stop_chan  # type: ignore[attr-defined]

"""The cyclic collector is paused for bulk plan work and always comes back."""

from __future__ import annotations

import gc
import threading

import pytest

from app.core.gc_pause import paused_gc


def test_paused_inside_and_enabled_after_nested_uses() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_enabled_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_threads_leave_it_enabled() -> None:
    inside = threading.Barrier(2)

    def work() -> None:
        with paused_gc():
            inside.wait(timeout=10)  # both threads hold a pause at the same time

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert gc.isenabled()

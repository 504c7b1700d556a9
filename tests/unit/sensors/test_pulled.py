"""Unit tests of sensors/pulled.py.

In process and fast: no Dagster instance, daemon, service, subprocess or long training."""

from __future__ import annotations

from sensors.pulled import due_now


def test_a_partition_under_way_waits_for_its_run_until_it_is_complete_and_read() -> None:
    exists = {"09:00", "09:05"}.__contains__
    touched = {"09:05": ["b2"], "09:10": ["b3"]}
    due, waiting = due_now({"09:05": ["b1"]}, touched, exists, drained=False)
    # 09:05 is complete and the tick read events after it; 09:10 is under way.
    assert due == {"09:05": ["b1", "b2"]}
    assert waiting == {"09:10": ["b3"]}
    # Complete, but the source still has unread events and none of a later partition: it waits.
    assert due_now(waiting, {"09:10": ["b4"]}, {"09:10"}.__contains__, drained=False) == (
        {},
        {"09:10": ["b3", "b4"]},
    )
    # Drained: its run is due with every batch.
    due, waiting = due_now({"09:10": ["b3", "b4"]}, {}, {"09:10"}.__contains__, drained=True)
    assert due == {"09:10": ["b3", "b4"]} and waiting == {}

"""An outbox message's id names its stream and sequence: built by ``event_id_of``, read back by
``stream_position``, and any other id refused when the message is made."""

from __future__ import annotations

import datetime as dt

import pytest

from salesorders.errors import ValidationError
from salesorders.ports import OutboxMessage, event_id_of, stream_position

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_an_event_id_names_its_stream_and_sequence_and_reads_back() -> None:
    for stream, sequence in (("O-1", 1), ("stock:SKU-A:W1", 12), ("customer:C:1", 3)):
        event_id = event_id_of(stream, sequence)
        assert event_id == f"{stream}:{sequence}"
        assert stream_position(event_id) == (stream, sequence)


@pytest.mark.parametrize(
    "event_id", ["O-1", "O-1:", ":1", "O-1:01", "O-1:+1", "O-1:-1", "O-1:1.0", "O-1:١", "", 7, None]
)
def test_an_id_written_otherwise_names_no_position(event_id: object) -> None:
    assert stream_position(event_id) is None


def test_a_message_whose_id_names_another_place_is_refused() -> None:
    assert OutboxMessage("O-1:2", "O-1", 2, "OrderPlaced", {}, T0).event_id == "O-1:2"
    for event_id in ("other", "O-1:1", "O-2:2", "O-1:02"):
        with pytest.raises(ValidationError) as refused:
            OutboxMessage(event_id, "O-1", 2, "OrderPlaced", {}, T0)
        assert refused.value.field == "event_id"
        assert "'O-1:2'" in str(refused.value) and "event_id_of" in refused.value.hint

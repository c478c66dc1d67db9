"""The JSON envelope an outbox message travels in to a message broker."""

from __future__ import annotations

import json

from salesorders.ports import OutboxMessage

__all__ = ["message_body"]


def message_body(message: OutboxMessage) -> bytes:
    """The JSON body a broker publisher sends for ``message``: ``id``, ``type``, ``stream``,
    ``sequence``, ``occurred_at`` (ISO-8601) and ``data`` (the serialized event), in UTF-8."""
    document = {
        "id": message.event_id,
        "type": message.event_type,
        "stream": message.stream_id,
        "sequence": message.sequence,
        "occurred_at": message.occurred_at.isoformat(),
        "data": message.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

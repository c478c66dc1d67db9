"""The audit log: one append-only, hash-chained record per command run or denied.

Bootstrap the service with ``audit=True``: every command writes an :class:`AuditRecord` in its
own unit of work (who, from which channel, what, when, and the figures it changed), and every
denied attempt one too. ``service.audit_records(query)`` streams them,
``service.verify_audit()`` names the first broken link, ``service.export_audit(out,
format="csv")`` writes them out, and :class:`PurgeAuditRecords` deletes what is past the
retention. Queries are :class:`~salesorders.ports.AuditQuery`.
"""

from salesorders._public import publish
from salesorders.domain.audit import (
    AUDIT_OUTCOMES,
    AuditBreak,
    AuditRecord,
    record_hash,
    verify_records,
)
from salesorders.service.audit_export import AUDIT_COLUMNS, AuditReport
from salesorders.service.audit_trail import AuditPurge, PurgeAuditRecords

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_OUTCOMES",
    "AuditBreak",
    "AuditPurge",
    "AuditRecord",
    "AuditReport",
    "PurgeAuditRecords",
    "record_hash",
    "verify_records",
]

publish(globals(), __name__, __all__)

"""``salesorders migrate`` and ``salesorders purge-idempotency``: keeping a store in shape.

``migrate --check`` reads the schema version without touching the database and exits 1 when
migrations are pending, listing them; ``migrate`` applies them (opening a store applies the
missing migrations in one transaction). ``purge-idempotency`` deletes the idempotency records
past their retention.
"""

from __future__ import annotations

import argparse

from salesorders.adapters._sql.schema import LATEST_VERSION, MIGRATIONS
from salesorders.cli.output import Output, counted
from salesorders.cli.store import open_service, open_store, schema_version_of
from salesorders.errors import NotSupportedError

__all__ = ["migrate", "purge_idempotency"]


def migrate(args: argparse.Namespace, out: Output) -> int:
    """Apply the pending migrations, or with ``--check`` list them and exit 1 if any."""
    current = schema_version_of(args.store, args.schema)
    if current > LATEST_VERSION:
        raise NotSupportedError(
            f"the database schema is at version {current}, newer than the version "
            f"{LATEST_VERSION} this library knows; upgrade salesorders"
        )
    pending = [m for m in MIGRATIONS if m.version > current]
    listing = [{"version": m.version, "description": m.description} for m in pending]
    if args.check:
        if args.json:
            out.json(
                {"schema_version": current, "latest_version": LATEST_VERSION, "pending": listing}
            )
        elif pending:
            out.line(f"schema at version {current}; {counted(len(pending), 'migration')} pending:")
            for migration in pending:
                out.line(f"  {migration.version}: {migration.description}", indent=5)
        else:
            out.line(f"schema up to date at version {current}")
        return 1 if pending else 0
    with open_store(args.store, args.schema) as store:
        now = store.schema_version
    if args.json:
        out.json({"schema_version": now, "latest_version": LATEST_VERSION, "applied": listing})
    elif not pending:
        out.line(f"schema up to date at version {now}; nothing to apply")
    else:
        out.line(f"applied {counted(len(pending), 'migration')}; schema now at version {now}:")
        for migration in pending:
            out.line(f"  {migration.version}: {migration.description}", indent=5)
    return 0


def purge_idempotency(args: argparse.Namespace, out: Output) -> int:
    """Delete the expired idempotency records; print how many."""
    with open_service(args.store, args.schema) as service:
        purged = service.purge_expired_idempotency()
    if args.json:
        out.json({"purged": purged})
    else:
        out.line(f"purged {counted(purged, 'expired idempotency record')}")
    return 0

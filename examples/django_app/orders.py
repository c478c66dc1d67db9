"""The sales service on Django's own database connection, its errors as problem responses, and
the outbox relay.

``PostgresStore(connection=...)`` runs every unit of work as a savepoint of the transaction the
connection is in: call the service inside ``transaction.atomic()``, and the library's writes
(the order, its reservations, its outbox messages, the idempotency record) commit or roll back
with Django's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from salesorders import SalesService, bootstrap
from salesorders.adapters.postgres import PostgresStore
from salesorders.errors import SalesOrdersError
from salesorders.orders import DispatchReport
from salesorders.ports import Notifier, OutboxMessage

_local = threading.local()  # Django's connections are per thread, and so are the stores


def store() -> PostgresStore:
    """The store on this thread's Django connection; call it inside ``transaction.atomic()``
    (the first call on a connection creates or migrates the library's tables in that
    transaction)."""
    connection.ensure_connection()
    raw = connection.connection  # the psycopg 3 connection under Django's
    if getattr(_local, "raw", None) is not raw:  # a new connection: open the store on it
        _local.store = PostgresStore(connection=raw, schema=settings.SALESORDERS_SCHEMA)
        _local.service = bootstrap(store=_local.store)
        _local.raw = raw
    opened: PostgresStore = _local.store
    return opened


def service() -> SalesService:
    """The sales service on this thread's Django connection (inside ``transaction.atomic()``)."""
    store()
    running: SalesService = _local.service
    return running


class LogNotifier:
    """A channel: put email, SMS or webhooks here."""

    def notify(self, message: OutboxMessage) -> None:
        logging.getLogger("orders").info("%s %s", message.event_type, message.stream_id)


def relay_outbox(
    notifiers: Iterable[Notifier] = (LogNotifier(),), limit: int = 100
) -> DispatchReport:
    """Deliver the due outbox messages once (run it from a scheduler, a management command's
    ``handle`` or a loop in a worker process). One Django transaction records the outcomes: a
    crash before it commits delivers those messages again (at least once; consumers
    deduplicate on ``event_id``)."""
    with transaction.atomic():
        relay = bootstrap(store=store(), notifiers=notifiers)
        return relay.dispatcher.dispatch_once(limit)


class ProblemMiddleware:
    """The library's errors as RFC 9457 problem responses (status and ``code`` from the error)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if not isinstance(error, SalesOrdersError):
            return None
        return JsonResponse(
            error.to_problem(instance=request.path),
            status=error.http_status,
            content_type="application/problem+json",
        )

"""JSON views: commands loaded by the library's serializer and run in Django's transaction;
reads through the service's queries, which run in read-only savepoints."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from salesorders import (
    CancelOrder,
    OrderQuery,
    OrderSummary,
    PlaceOrder,
    ReceiveStock,
    RegisterWarehouse,
)
from salesorders.serialization import Serializer

from .orders import service

serializer = Serializer()


def _run(request: HttpRequest, cls: type, **path: str) -> JsonResponse:
    """Load ``cls`` from the JSON body, the path and the ``Idempotency-Key`` header, and run it."""
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    key = {"idempotency_key": request.headers.get("Idempotency-Key")}
    data = body | path | key if isinstance(body, dict) else None  # None: refused by load
    command = serializer.load(data, cls)
    with transaction.atomic():  # the library's writes join Django's transaction
        done = service().execute(command)
    response = JsonResponse(serializer.dump(done.result), safe=False)
    if done.replayed:  # the result stored under the key: nothing ran this time
        response["Idempotent-Replayed"] = "true"
    return response


@require_POST
def register_warehouse(request: HttpRequest) -> JsonResponse:
    return _run(request, RegisterWarehouse)


@require_POST
def receive_stock(request: HttpRequest) -> JsonResponse:
    return _run(request, ReceiveStock)


@require_POST
def place_order(request: HttpRequest) -> JsonResponse:
    return _run(request, PlaceOrder)


@require_POST
def cancel_order(request: HttpRequest, order_id: str) -> JsonResponse:
    return _run(request, CancelOrder, order_id=order_id)


@require_GET
def order(request: HttpRequest, order_id: str) -> JsonResponse:
    with transaction.atomic():
        view = service().view_order(order_id)
    return JsonResponse(serializer.dump(view))


@require_GET
def customer_orders(request: HttpRequest, customer_id: str) -> JsonResponse:
    """Newest first, with the total; a read-only query (``store.read()``)."""
    query = OrderQuery(
        customer_id, newest_first=True, with_total=True, after=request.GET.get("after")
    )
    with transaction.atomic():
        page = service().list_orders(query)
    orders: list[Any] = [serializer.dump(OrderSummary.of(o)) for o in page.orders]
    return JsonResponse({"orders": orders, "total": page.total, "next_cursor": page.next_cursor})

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse

import salesorders
from salesorders import CancelOrder, PlaceOrder, ReceiveStock, RegisterWarehouse, bootstrap
from salesorders.adapters.sqlite import SQLiteStore
from salesorders.errors import SalesOrdersError
from salesorders.json_schema import schemas
from salesorders.ports import Notifier, OrderQuery, OutboxMessage, Store
from salesorders.serialization import Serializer

REF = "#/components/schemas/"  # run: ORDERS_DB=orders.db uvicorn --factory fastapi_app:create_app
Key = Annotated[str | None, Header(alias="Idempotency-Key")]  # the command's idempotency key
serializer = Serializer()  # the library's JSON: commands in, results and views out


def create_app(store: Store | None = None, notifiers: Iterable[Notifier] = ()) -> FastAPI:
    class LogNotifier:  # a channel: put email, SMS or webhooks here
        def notify(self, message: OutboxMessage) -> None:
            logging.getLogger("orders").info("%s %s", message.event_type, message.stream_id)

    store = store or SQLiteStore(os.environ["ORDERS_DB"])
    service = bootstrap(store=store, notifiers=notifiers or [LogNotifier()])

    def relay(stop: threading.Event) -> None:  # the outbox relay: events to notifiers, until stop
        while not stop.wait(0 if service.dispatcher.dispatch_once().delivered else 1.0):
            pass

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=relay, args=(stop := threading.Event(),), name="outbox").start()
        yield
        stop.set()

    app = FastAPI(title="Orders", lifespan=lifespan)

    @app.exception_handler(SalesOrdersError)
    def problem(request: Request, error: SalesOrdersError) -> JSONResponse:
        body = error.to_problem(instance=request.url.path)
        return JSONResponse(body, error.http_status, media_type="application/problem+json")

    async def json_data(request: Request, key: Key = None) -> Any:  # body, path and key as one
        with contextlib.suppress(ValueError, TypeError):  # not a JSON object: None, load refuses
            return await request.json() | request.path_params | {"idempotency_key": key}

    def post(path: str, cls: type, *ids: str) -> None:  # an endpoint running a command
        def run_command(data: Annotated[Any, Depends(json_data)]) -> JSONResponse:
            done = service.execute(serializer.load(data, cls))
            replayed = {"Idempotent-Replayed": "true"} if done.replayed else {}  # nothing ran
            return JSONResponse(serializer.dump(done.result), headers=replayed)

        body = {"content": {"application/json": {"schema": {"$ref": REF + cls.__name__}}}}
        params = [{"name": i, "in": "path", "required": True} for i in ids]  # FastAPI sees none
        app.post(path, openapi_extra={"requestBody": body, "parameters": params})(run_command)

    post("/warehouses", RegisterWarehouse)
    post("/stock/receipts", ReceiveStock)
    post("/orders", PlaceOrder)
    post("/orders/{order_id}/cancel", CancelOrder, "order_id")

    @app.get("/orders/{order_id}")  # reads: the service's queries run in read-only transactions
    def get_order(order_id: str) -> Any:
        return serializer.dump(service.view_order(order_id))

    @app.get("/customers/{customer_id}/orders")
    def list_orders(customer_id: str, after: str | None = None) -> Any:
        query = OrderQuery(customer_id, newest_first=True, with_total=True, after=after)
        page = service.list_orders(query)
        orders = [serializer.dump(salesorders.OrderSummary.of(order)) for order in page.orders]
        return {"orders": orders, "total": page.total, "next_cursor": page.next_cursor}

    app.openapi()["components"]["schemas"].update(schemas(ref_prefix=REF))  # commands' schemas
    return app

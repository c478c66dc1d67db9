"""The six endpoints of the recipe."""

from django.urls import path

from . import views

urlpatterns = [
    path("warehouses", views.register_warehouse),
    path("stock/receipts", views.receive_stock),
    path("orders", views.place_order),
    path("orders/<str:order_id>", views.order),
    path("orders/<str:order_id>/cancel", views.cancel_order),
    path("customers/<str:customer_id>/orders", views.customer_orders),
]

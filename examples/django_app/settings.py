"""Settings: one PostgreSQL database, from ``ORDERS_DATABASE_URL``; no apps or models needed."""

import os

from psycopg.conninfo import conninfo_to_dict

_database = conninfo_to_dict(
    os.environ.get("ORDERS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/orders")
)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "not-a-secret: set DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_app.urls"
INSTALLED_APPS: list[str] = []
# A JSON API with no cookies: no CSRF middleware (add it, and exempt these views, in a site
# that also serves forms). ProblemMiddleware answers the library's errors as problem details.
MIDDLEWARE = ["django_app.orders.ProblemMiddleware"]
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3, which the library's store uses
        "NAME": _database.get("dbname", ""),
        "USER": _database.get("user", ""),
        "PASSWORD": _database.get("password", ""),
        "HOST": _database.get("host", ""),
        "PORT": _database.get("port", ""),
        # Persistent connections: the store is opened once per connection (see orders.py).
        "CONN_MAX_AGE": None,
    }
}
# The PostgreSQL schema of the library's tables, created and migrated on first use.
SALESORDERS_SCHEMA = os.environ.get("ORDERS_SCHEMA", "salesorders")

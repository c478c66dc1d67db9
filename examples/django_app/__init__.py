"""A Django project over salesorders: the library's store on Django's own database connection.

Run it with ``DJANGO_SETTINGS_MODULE=django_app.settings`` (``examples/`` on ``sys.path``) and
``ORDERS_DATABASE_URL=postgresql://...``; see ``docs/integration.md``.
"""

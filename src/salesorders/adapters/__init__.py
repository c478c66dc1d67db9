"""Storage adapters: :mod:`~salesorders.adapters.memory` (reference, in memory),
:mod:`~salesorders.adapters.sqlite` (embedded, standard library) and
:mod:`~salesorders.adapters.postgres` (psycopg 3; ``pip install salesorders[postgres]``).

Each store's ``unit_of_work`` is a :class:`~salesorders.ports.UnitOfWorkFactory`. Import the
module of the store you use; importing this package loads no driver.

:mod:`~salesorders.adapters.tracking` checks tracking numbers against the couriers' formats
(the tracking-numbers library; ``pip install salesorders[tracking]``).
"""

"""The test kit for users of salesorders: Hypothesis strategies, fakes, contract suites and policy
checks to run against their own adapters and policies.

``salesorders.testing.fakes`` holds in-memory stand-ins for the ports a host implements, such as
``FakeCarrier``, a carrier that books shipments with deterministic tracking numbers.
``salesorders.testing.policies`` checks allocation policies and
``salesorders.testing.return_policies`` return policies.

The strategies, policy checks and contract suites need Hypothesis and pytest:
``pip install 'salesorders[testing]'``. Without them, importing one of those modules raises an
:class:`ImportError` that says so; ``salesorders.testing.fakes`` needs only the core library.

``salesorders.testing.channels`` holds fakes for notifications, exported here too (they need only
the core library): ``FakeSmsGateway``, an SMS provider in memory, and ``RecordingChannel``, a
channel that records the notices it is handed and can be told to fail.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

#: Modules of the kit that import nothing beyond the core dependencies.
_CORE_ONLY = frozenset({f"{__name__}.fakes", f"{__name__}.channels"})


def _missing(names: Sequence[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


class _KitNeedsExtra(MetaPathFinder):
    """Refuses the kit's Hypothesis and pytest modules, naming the extra that brings them."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.message = (
            "the strategies, policy checks and contract suites of salesorders.testing need "
            f"hypothesis and pytest ({', '.join(missing)} not found); install them with "
            "pip install 'salesorders[testing]'"
        )

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.startswith(f"{__name__}.") and fullname not in _CORE_ONLY:
            raise ImportError(self.message, name=fullname)
        return None


_MISSING = _missing(("hypothesis", "pytest"))
if _MISSING and not any(isinstance(finder, _KitNeedsExtra) for finder in sys.meta_path):
    sys.meta_path.insert(0, _KitNeedsExtra(_MISSING))

from salesorders.testing.channels import FakeSmsGateway, RecordingChannel, SentSms  # noqa: E402

__all__ = ["FakeSmsGateway", "RecordingChannel", "SentSms"]

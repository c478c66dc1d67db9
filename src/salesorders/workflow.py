"""Order workflows: states, transitions, guards and the effects a transition has on stock.

:func:`default_workflow` is the built-in lifecycle; :class:`WorkflowBuilder` builds your own
(validated when built), and :class:`WorkflowRegistry` keeps their versions so stored orders
read back on the workflow they were created with. Effects name what a transition does to stock:
:data:`RESERVE`, :data:`RELEASE`, :data:`CONSUME`; :data:`PAID` and :data:`NOTHING_SHIPPED` are
built-in guards.
"""

from salesorders._public import publish
from salesorders.domain.workflow import (
    CONSUME,
    DEFAULT_WORKFLOW,
    EFFECTS,
    HELD_FROM,
    NOTHING_SHIPPED,
    PAID,
    RELEASE,
    RESERVE,
    Guard,
    Transition,
    Workflow,
    WorkflowBuilder,
    WorkflowRegistry,
    default_workflow,
)

__all__ = [
    "CONSUME",
    "DEFAULT_WORKFLOW",
    "EFFECTS",
    "HELD_FROM",
    "NOTHING_SHIPPED",
    "PAID",
    "RELEASE",
    "RESERVE",
    "Guard",
    "Transition",
    "Workflow",
    "WorkflowBuilder",
    "WorkflowRegistry",
    "default_workflow",
]

publish(globals(), __name__, __all__)

"""The Python behind the BPMN processes: service-task operators and lane rules.

:mod:`processes.operators` and :mod:`processes.lanes` declare them against
:mod:`engine.registry`; the composition root (``ticketflow.bootstrap()``) loads both in every
process.  The engine never imports this package.
"""

"""The Python behind the BPMN processes: service-task operators and lane rules.

Importing :mod:`processes.operators` and :mod:`processes.lanes` registers them with
:mod:`engine.registry`; the engine imports them by name when it first needs them.
"""

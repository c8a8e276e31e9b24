"""The BPMN engine: the only package that imports SpiffWorkflow.

Other packages use :mod:`engine.runtime` (start, complete, claim, deliver messages, fire
timers), :mod:`engine.definitions` (deploy and list process versions) and
:mod:`engine.inbox` (the human-task projection).
"""

"""The composition root: the ``ticketflow`` command and :func:`ticketflow.bootstrap.bootstrap`.

Only this package knows every other one.  Nothing below it imports it
(``tests/test_architecture.py`` checks that).
"""

"""The use cases: one module per user-visible action, the one place every channel calls.

A web view, an API resource, the mail pipeline, a CLI command and a process operator that do
the same thing call the same function here.  A use case combines the domain services
(``desk``), the process engine (``engine``: starting processes, delivering ticket events) and
outgoing mail (``desk.article.reply.mail_article``) for one action; like the services it takes
the session, only flushes, and leaves the commit to the channel.

Modules: ``open_ticket`` (mail, phone, web, API), ``customer_message`` (a customer writes:
follow-up policy, reopen, the process's ``customer_replied``), ``reply``, ``note``,
``forward``, ``move``, ``state`` (state, pending time, close), ``merge`` (merge, link, split),
``tasks`` (claim, release, complete), ``process_events`` (ticket changes delivered to the
ticket's processes).
"""

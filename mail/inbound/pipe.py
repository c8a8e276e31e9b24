"""The pipe's light path: store one mail with its envelope and hand it to the workers.

An MTA runs ``ticketflow mail ingest`` once per mail, so the command's start-up is its cost.
When jobs go through Redis (``TICKETFLOW_REDIS_URL``), the workers process mail and the pipe
needs only what it writes: the desk and mail models (not the engine, the use cases or the web
app; not SpiffWorkflow or Flask).  It stores the raw bytes and the envelope with
:func:`mail.inbound.receive.accept`, commits, and sends the processing job by its name.  A job
message that cannot be sent is no loss: the mail is stored, and the workers' sweep takes
every ``received`` mail whose job is overdue.  Without Redis (the embedded mode) there is no
worker to hand the mail to, and the command processes it itself, as before.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# The name under which mail.tasks registers its job (core.jobs.job_name); written out, since
# importing mail.tasks would import the whole pipeline.  tests/mail/test_pipe_light.py
# checks that the two agree.
PROCESS_JOB = "mail.tasks.process_raw_mail_job"


def store_and_enqueue(
    data: bytes, *, envelope_from: str, envelope_to: str, redis_url: str
) -> tuple[int, bool]:
    """Store the mail (committed when this returns) and send its job; (raw mail id, new?)."""
    import desk.models  # noqa: F401  (every table a raw mail refers to, for the flush)
    import mail.models  # noqa: F401
    from core.jobs import DramatiqBackend
    from mail.inbound.receive import accept

    raw_id, created = accept(data, source="pipe", envelope_from=envelope_from, envelope_to=envelope_to)
    if created:
        try:
            DramatiqBackend(redis_url).send(PROCESS_JOB, {"raw_mail_id": raw_id})
        except Exception as exc:  # any broker error: the sweep will find the stored mail
            log.warning(
                "raw mail %s is stored; its job could not be sent (%s), the sweep takes it", raw_id, exc
            )
    return raw_id, created

"""The inbox page sends the same SQL statements for 2 open tasks as for 30 (issue 16)."""

from __future__ import annotations

import pytest

from tests.inbox_data import tickets_with_triage
from tests.query_count import count_statements, page_statements

# The session with its agent and roles; the agent's rights and every queue (read once for
# the counts, the tree and the task filter); the counts per queue; the page of tasks with
# their tickets; every agent (claimers' names and the bulk form's owners); unread markers;
# saved views; states; which tickets await an answer; the header (availability, unread
# notifications).  The navigation's questions (statistics, designer, administration, phone
# tickets) are answered from the rights and send nothing.  It was 21 before issue 16's
# statement work.
INBOX_STATEMENT_BUDGET = 11


def _inbox_statements(client, engine, url: str) -> tuple[int, str]:
    client.get(url)  # the first request of a session may do one-off work (none expected)
    with count_statements(engine) as statements:
        html = client.get(url).text
    return len(page_statements(statements)), html


@pytest.mark.parametrize("url", ["/inbox", "/inbox?scope=unclaimed"])
def test_the_inbox_takes_the_same_statements_for_few_and_many_tasks(client, login, session, engine, url):
    login("secretary")
    tickets_with_triage(session, 2)
    few, few_html = _inbox_statements(client, engine, url)
    tickets_with_triage(session, 28)
    many, many_html = _inbox_statements(client, engine, url)

    assert few_html.count('class="inbox-task"') < many_html.count('class="inbox-task"') == 25  # a full page
    assert "Inbox load" in many_html
    assert few == many
    assert many <= INBOX_STATEMENT_BUDGET

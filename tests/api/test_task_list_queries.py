"""``GET /api/v1/tasks`` sends the same SQL statements for 2 open tasks as for 30 (issue 16)."""

from __future__ import annotations

from tests.inbox_data import tickets_with_triage
from tests.query_count import count_statements, page_statements

# The token with its agent and roles (1), the agent's rights and every queue (2), the page
# of tasks with their tickets (1).  It was 6 before issue 16's statement work.
TASK_LIST_STATEMENT_BUDGET = 4


def test_the_task_list_takes_the_same_statements_for_few_and_many_tasks(api_as, session, engine):
    api = api_as("secretary")
    tickets_with_triage(session, 2)
    api.get("/tasks")
    with count_statements(engine) as statements:
        few = api.get("/tasks?limit=100").get_json()
    few_count = len(page_statements(statements))
    added = tickets_with_triage(session, 28)
    with count_statements(engine) as statements:
        many = api.get("/tasks?limit=100").get_json()

    assert len(many) == len(few) + 28
    assert {t.number for t in added} <= {task["ticket_number"] for task in many}
    assert len(page_statements(statements)) == few_count
    assert few_count <= TASK_LIST_STATEMENT_BUDGET, "\n".join(page_statements(statements))

"""Statistics: known answers on a seeded dataset, the same in the page, the CSV and the API."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import AgentGroupPermission, Group
from reports import figures
from reports.export import to_csv
from tests import stats_data


def xlsx_sheet_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as xlsx:
        return re.findall(r'<sheet name="([^"]+)"', xlsx.read("xl/workbook.xml").decode())


RANGE = {"start": stats_data.DAY.isoformat(), "end": "2026-06-02"}


@pytest.fixture
def known(session):
    return stats_data.build(session)


def tables(session, known) -> dict[str, figures.Table]:
    chosen = figures.Filters(
        start=stats_data.DAY, end=datetime(2026, 6, 2).date(), queue_ids=[known.queue.id]
    )
    return {t.name: t for t in figures.all_tables(session, chosen, now=utcnow())}


def test_the_figures_give_the_known_answers(session, known):
    found = tables(session, known)
    assert found["created_closed_per_day"].rows == [("2026-06-01", 3, 1), ("2026-06-02", 0, 1)]
    assert found["response_and_solution_times"].rows == [("1st level", 3, 30.0, 60.0, 2, 780.0, 1440.0)]
    steps = {row[1]: row for row in found["process_steps"].rows if row[0] == "two_steps"}
    assert steps["triage"][3:7] == (1, 2, 35.0, 50.0)  # ticket 3 is still at triage
    assert steps["work"][3:7] == (0, 1, 40.0, 40.0)  # closing ticket 2 ended its process
    assert figures.median_p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == (5.5, 9)


def test_every_csv_matches_its_figure(session, known):
    for table in tables(session, known).values():
        text = to_csv(table)
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert tuple(rows[0]) == table.columns
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in table.rows]


def test_a_formula_like_name_stays_text_in_the_csv():
    table = figures.Table("t", ("queue", "open"), [("=HYPERLINK(1)", 2)])
    assert "'=HYPERLINK(1)" in to_csv(table)


def test_the_page_and_the_csv_download_show_the_figures(client, login, session, known):
    login("admin")
    page = client.get("/stats", query_string={**RANGE, "queue": known.queue.id})
    assert page.status_code == 200
    assert "Tickets created and closed per day" in page.text
    assert "<td>780.0</td>" in page.text
    assert 'data-chart="created_closed_per_day"' in page.text
    download = client.get(
        "/stats/response_and_solution_times.csv", query_string={**RANGE, "queue": known.queue.id}
    )
    assert download.mimetype == "text/csv"
    assert "1st level,3,30.0,60.0,2,780.0,1440.0" in download.text
    data = client.get("/stats/data.json", query_string={**RANGE, "queue": known.queue.id}).get_json()
    assert data["created_closed_per_day"]["rows"] == [["2026-06-01", 3, 1], ["2026-06-02", 0, 1]]
    assert client.get("/stats/nothing.csv").status_code == 404
    workbook = client.get("/stats/statistics.xlsx", query_string={**RANGE, "queue": known.queue.id})
    assert workbook.mimetype.endswith("spreadsheetml.sheet")
    with zipfile.ZipFile(io.BytesIO(workbook.data)) as xlsx:
        names = xlsx.namelist()
        strings = xlsx.read("xl/sharedStrings.xml").decode()
    assert sum(1 for n in names if n.startswith("xl/worksheets/sheet")) == len(data)
    assert "response_and_solution_times" in xlsx_sheet_names(workbook.data)
    assert "1st level" in strings


def test_bad_filters_are_field_errors_not_a_crash(client, login, known):
    login("admin")
    page = client.get("/stats", query_string={"start": "yesterday", "end": "2026-01-01"})
    assert page.status_code == 422
    assert "enter a date (YYYY-MM-DD)" in page.text
    backwards = client.get("/stats", query_string={"start": "2026-06-02", "end": "2026-06-01"})
    assert backwards.status_code == 422
    assert "the end is before the start" in backwards.text


def test_only_agents_with_the_stats_permission_read_statistics(client, login, session, agent):
    login("alice")
    assert client.get("/stats").status_code == 403
    assert client.get("/stats/data.json").status_code == 403
    assert client.get("/stats/backlog_age.csv").status_code == 403
    group = Group(name="stats", comment="statistics")
    session.add(group)
    session.flush()
    session.add(AgentGroupPermission(agent_id=agent("alice").id, group_id=group.id, permission="ro"))
    session.flush()
    session.expire_all()
    assert client.get("/stats").status_code == 200


def test_the_api_gives_the_same_figures(session, known, app, agent):
    client = app.test_client()
    token = agents.create_token(session, actor=SYSTEM, agent=agent("admin"), name="stats")
    headers = {"Authorization": f"Bearer {token}"}
    query = {**RANGE, "queue": known.queue.id}
    one = client.get("/api/v1/stats/response_and_solution_times", headers=headers, query_string=query)
    assert one.status_code == 200, one.text
    assert one.get_json()["rows"] == [["1st level", 3, 30.0, 60.0, 2, 780.0, 1440.0]]
    every = client.get("/api/v1/stats", headers=headers, query_string=query).get_json()
    assert every["created_closed_per_day"]["rows"] == [["2026-06-01", 3, 1], ["2026-06-02", 0, 1]]
    alice = agents.create_token(session, actor=SYSTEM, agent=agent("alice"), name="stats")
    refused = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {alice}"})
    assert refused.status_code == 403
    bad = client.get("/api/v1/stats", headers=headers, query_string={"start": "nope"})
    assert bad.status_code == 422


def test_the_weekly_mail_is_switched_on_in_the_page_and_sent_once_a_week(
    client, login, session, agent, known
):
    from desk.outbox.models import OutboxMessage
    from reports import weekly
    from tests.web.conftest import csrf_token_in

    login("admin")
    page = client.get("/stats")
    switched = client.post(
        "/stats/subscription", data={"csrf_token": csrf_token_in(page.text), "weekly": "on"}
    )
    assert switched.status_code == 303
    assert "You get these statistics by mail every week." in client.get("/stats").text
    admin = agent("admin")
    now = datetime(2026, 6, 3, 7, 0, tzinfo=UTC)
    subscriptions = [s for s in weekly.due(session, now=now) if s.agent_id == admin.id]
    assert len(subscriptions) == 1
    assert weekly.send(session, subscription=subscriptions[0], now=now)
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == admin.email).order_by(OutboxMessage.id.desc())
    ).first()
    assert mail is not None
    assert mail.subject == "Weekly statistics 2026-05-27 – 2026-06-02"
    assert "1st level | 3 | 30.0 | 60.0 | 2 | 780.0 | 1440.0" in mail.body_text
    assert mail.from_addr != "helpdesk@ticketflow.local"
    # Not again within the week; again a week later.
    assert all(s.agent_id != admin.id for s in weekly.due(session, now=now + timedelta(days=6)))
    assert any(s.agent_id == admin.id for s in weekly.due(session, now=now + timedelta(days=7)))
    off = client.post("/stats/subscription", data={"csrf_token": csrf_token_in(client.get("/stats").text)})
    assert off.status_code == 303
    session.expire_all()
    assert not weekly.is_subscribed(session, admin)


def test_an_agent_without_the_stats_permission_cannot_subscribe(client, login):
    from tests.web.conftest import csrf_token_in

    login("alice")
    token = csrf_token_in(client.get("/").text)
    assert client.post("/stats/subscription", data={"csrf_token": token, "weekly": "on"}).status_code == 403

"""``GET /api/v1/stats?figure=<name>``: one figure computed and returned, an unknown name a 400."""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from desk.agent import service as agents
from reports import figures
from tests import stats_data

RANGE = {"start": stats_data.DAY.isoformat(), "end": "2026-06-02"}


@pytest.fixture
def known(session):
    return stats_data.build(session)


@pytest.fixture
def admin_headers(session, agent):
    token = agents.create_token(session, actor=SYSTEM, agent=agent("admin"), name="stats")
    return {"Authorization": f"Bearer {token}"}


def test_one_figure_is_answered_alone_and_the_others_are_not_computed(
    session, known, app, admin_headers, monkeypatch
):
    computed: list[str] = []
    for name, compute in list(figures.FIGURES.items()):

        def spy(s, f, now, name=name, compute=compute):
            computed.append(name)
            return compute(s, f, now)

        monkeypatch.setitem(figures.FIGURES, name, spy)
    client = app.test_client()
    query = {**RANGE, "queue": known.queue.id, "figure": "response_and_solution_times"}
    answer = client.get("/api/v1/stats", headers=admin_headers, query_string=query)
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert list(body) == ["response_and_solution_times"]
    assert body["response_and_solution_times"]["rows"] == [["1st level", 3, 30.0, 60.0, 2, 780.0, 1440.0]]
    assert computed == ["response_and_solution_times"]

    computed.clear()
    one = client.get("/api/v1/stats/created_closed_per_day", headers=admin_headers, query_string=RANGE)
    assert one.get_json()["rows"] == [["2026-06-01", 3, 1], ["2026-06-02", 0, 1]]
    assert computed == ["created_closed_per_day"]

    computed.clear()
    every = client.get("/api/v1/stats", headers=admin_headers, query_string=RANGE).get_json()
    assert sorted(every) == sorted(figures.FIGURES)
    assert computed == list(figures.FIGURES)


def test_an_unknown_figure_is_a_400_that_names_the_figures(app, admin_headers):
    client = app.test_client()
    answer = client.get("/api/v1/stats", headers=admin_headers, query_string={"figure": "revenue"})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["code"] == "bad_request"
    assert "unknown figure 'revenue'" in body["message"]
    assert "response_and_solution_times" in body["message"]
    assert "created_closed_per_day" in body["errors"]["figure"][0]


def test_the_right_to_statistics_comes_before_the_figure_name(session, app, agent):
    token = agents.create_token(session, actor=SYSTEM, agent=agent("alice"), name="stats")
    answer = app.test_client().get(
        "/api/v1/stats", headers={"Authorization": f"Bearer {token}"}, query_string={"figure": "revenue"}
    )
    assert answer.status_code == 403


def test_the_openapi_document_describes_the_figure_parameter(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/stats"]["get"]
    (figure,) = [p for p in operation["parameters"] if p["name"] == "figure"]
    assert "response_and_solution_times" in figure["description"]
    assert "400" in operation["responses"]


def test_a_csv_download_computes_its_figure_only(client, login, known, monkeypatch):
    computed: list[str] = []
    for name, compute in list(figures.FIGURES.items()):

        def spy(s, f, now, name=name, compute=compute):
            computed.append(name)
            return compute(s, f, now)

        monkeypatch.setitem(figures.FIGURES, name, spy)
    login("admin")
    download = client.get("/stats/created_closed_per_day.csv", query_string=RANGE)
    assert download.mimetype == "text/csv"
    assert "2026-06-01,3,1" in download.text
    assert computed == ["created_closed_per_day"]
    assert client.get("/stats/revenue.csv").status_code == 404

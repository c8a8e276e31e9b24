"""The statistics page in Chromium: charts drawn, the heat map on the process diagram."""

from __future__ import annotations

import pytest

from core.db import session_scope
from tests import stats_data
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def known(e2e_factory) -> int:
    """The known dataset, committed; returns the 1st level queue's id."""
    with session_scope(e2e_factory) as session:
        return stats_data.build(session).queue.id


def test_the_statistics_page_draws_its_charts_and_the_heat_map(page, live_server, known):
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/stats?start=2026-06-01&end=2026-06-02&queue={known}&process=two_steps")
    page.wait_for_selector('canvas[data-chart="created_closed_per_day"][data-drawn="true"]')
    page.wait_for_selector("[data-heatmap][data-drawn='true']")
    triage = page.locator('.stats-heat[data-step="triage"]')
    assert triage.inner_text() == "35 min · 1"
    assert page.locator('.stats-heat[data-step="work"]').inner_text() == "40 min · 0"
    cells = page.locator('table[data-table="response_and_solution_times"] tbody td').all_inner_texts()
    assert cells == ["1st level", "3", "30.0", "60.0", "2", "780.0", "1440.0"]
    assert problems == []
    screenshot(page, "statistics-en")

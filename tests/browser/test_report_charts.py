"""The reports page in chromium: every chart is drawn, and stays legible on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from models import Role
from tests import reports_data
from tests.browser.conftest import log_in, shot
from tests.factories import make_user

pytestmark = pytest.mark.browser

# chart → how many series it draws for the fortnight of tests/reports_data.py
SERIES = {
    "calls": 5,
    "outcomes": 7,
    "status_calls": 2,
    "lead_capture": 3,
    "enquiries": 1,
    "refunds": 3,
    "eta_reliability": 2,
    "feedback": 2,
}
URL = f"/reports/?from={reports_data.FIRST}&to={reports_data.LAST}&by=week"


@pytest.fixture
def admin_email(live_server) -> str:
    with live_server.session() as session:
        reports_data.build(session)
        admin = make_user(session, role=Role.ADMIN, email="ada@example.com", name="Ada Admin")
        session.commit()
        return admin.email


def _charts(page) -> dict[str, dict]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('figure[data-chart]')].map(f => {
            const svg = f.querySelector('svg');
            const box = svg.getBoundingClientRect();
            return [f.dataset.chart, {
                series: svg.querySelectorAll('g.series').length,
                marks: svg.querySelectorAll('g.series rect, g.series circle').length,
                legend: f.querySelectorAll('.legend > span').length,
                width: box.width, height: box.height,
                axisText: Math.min(...[...svg.querySelectorAll('text.axis')]
                    .map(t => t.getBoundingClientRect().height)),
            }];
        }))"""
    )


def test_charts_render_with_their_series(page, live_server, admin_email):
    log_in(page, admin_email)
    page.goto(URL)
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    charts = _charts(page)
    assert {key: c["series"] for key, c in charts.items()} == SERIES
    for key, chart in charts.items():
        assert chart["marks"] > 0, key
        assert chart["legend"] == SERIES[key], key
        assert chart["width"] > 300 and chart["height"] > 100, (key, chart)
    shot(page, "20-reports-wide")


def test_charts_stay_readable_on_a_narrow_window(page, live_server, admin_email):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, admin_email)
    page.goto(URL)
    charts = _charts(page)
    assert set(charts) == set(SERIES)
    for key, chart in charts.items():
        # Never squeezed below legibility: the chart scrolls sideways instead.
        assert chart["axisText"] >= 8.5, (key, chart)
        assert chart["width"] >= 400, (key, chart)
    # The report's boxes fit the window; only a chart or table scrolls sideways inside its
    # box. (The console's top bar is measured by its own tests.)
    widest = page.evaluate(
        """() => Math.max(...[...document.querySelectorAll(
            'main .report-filters, main .report-totals, main .report-section, main .chart-scroll'
        )].map(e => e.getBoundingClientRect().right))"""
    )
    assert widest <= 375
    legend = page.locator('figure[data-chart="calls"] .legend')
    expect(legend).to_be_visible()
    assert legend.bounding_box()["width"] <= 375
    shot(page, "21-reports-narrow")

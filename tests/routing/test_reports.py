"""Reports: every figure from a data set built by hand (tests/reports_data.py), exactly.

New York time, a fortnight whose first week ends when clocks go forward; date-only ETAs
delivered late and on the last local minute; overrides from audit rows; the page, its
charts and its CSV print the same numbers.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from models import Role
from routing.reports.period import Filters, Granularity, InvalidPeriod, Period
from routing.reports.service import build_report
from tests import reports_data
from tests.factories import make_user
from tests.reports_data import FIRST, LAST, NOW, ZONE
from tests.test_app import login

TZ = ZoneInfo(ZONE)


@pytest.fixture
def org(db_session):
    return reports_data.build(db_session)


def _report(db_session, granularity=Granularity.WEEK, **filters):
    period = Period.of_days(TZ, FIRST, LAST, granularity)
    return build_report(db_session, period, NOW, Filters(**filters))


def test_week_spanning_the_dst_change_has_its_calls(db_session, org):
    rows = _report(db_session).table("calls").rows
    assert rows == [
        # Sunday 23:30 EDT belongs to the first week; Monday 00:30 EDT to the second.
        ["week of 2026-03-02", 4, 2, 1, 1, 0, 0, 50.0, 25.0, 25.0, 8.0],
        ["week of 2026-03-09", 4, 2, 1, 0, 1, 0, 50.0, 0.0, 25.0, 12.0],
    ]


def test_days_start_at_local_midnight(db_session, org):
    table = _report(db_session, Granularity.DAY).table("calls")
    assert len(table.rows) == 14
    by_day = {row[0]: row[1] for row in table.rows}
    # 05:00 UTC is 00:00 EST: Monday's first call; 04:59 UTC was Sunday, outside.
    assert by_day["2026-03-02"] == 1
    assert by_day["2026-03-08"] == 1  # 03:30 UTC on the 9th is 23:30 EDT on the 8th
    assert by_day["2026-03-09"] == 1
    assert sum(by_day.values()) == 8


def test_status_calls_next_to_eta_emails(db_session, org):
    report = _report(db_session)
    assert report.table("status_calls").rows == [
        ["week of 2026-03-02", 4, 2, 50.0, 1],
        ["week of 2026-03-09", 4, 0, 0.0, 1],
    ]
    assert report.totals["status_calls"] == 2 and report.totals["status_share"] == 25.0
    priya = _report(db_session, manager_id=org.priya).table("status_calls").rows
    # Dana's call on 2 March: Priya's J4 was open then; no ETA email about her jobs.
    assert [row[2] for row in priya] == [1, 0] and [row[4] for row in priya] == [0, 0]


def test_outcomes_and_lead_capture(db_session, org):
    report = _report(db_session)
    assert report.table("outcomes").rows == [
        # appointment … wrong number, appointment change, answered but not disposed
        ["week of 2026-03-02", 1, 0, 0, 0, 1, 0, 0, 0],
        ["week of 2026-03-09", 0, 0, 0, 0, 0, 1, 0, 1],
    ]
    assert report.table("lead_capture").rows == [
        ["week of 2026-03-02", 2, 1, 1, 0, 50.0],
        ["week of 2026-03-09", 1, 0, 0, 1, 0.0],
    ]


def test_missed_enquiry_sla_and_time_to_call_back(db_session, org):
    assert _report(db_session).table("enquiries").rows == [
        ["week of 2026-03-02", 1, 1, 0, 0.0, 0, 120.0],
        ["week of 2026-03-09", 2, 1, 1, 100.0, 1, 10.0],
    ]


def test_refunds_saved_or_lost_with_reasons(db_session, org):
    report = _report(db_session)
    assert report.table("refunds").rows == [
        ["week of 2026-03-02", 2, 1, 1, 0, 50.0],
        ["week of 2026-03-09", 1, 0, 0, 1, None],
    ]
    assert [row[:5] for row in report.table("refund_requests").rows] == [
        ["2026-03-03 10:00", "Erin Lee", "too slow", "Bob Jones", "saved"],
        ["2026-03-04 10:00", "Erin Lee", "found cheaper", "Bob Jones", "lost"],
        ["2026-03-10 11:00", "Erin Lee", "damaged", "Priya Shah", "open"],
    ]


def test_eta_reliability_counts_date_only_etas_to_the_end_of_the_local_day(db_session, org):
    report = _report(db_session)
    assert report.table("eta_reliability").rows == [
        # J1 on time (23:30 local on its ETA day); J2 five days late; J3 late against the
        # first ETA promised though before the later one; two overrides in the period.
        ["Bob Jones", 3, 1, 2, 33.3, 0.33, 2],
        ["Priya Shah", 1, 1, 0, 100.0, 0.0, 0],
    ]
    only_bob = _report(db_session, manager_id=org.bob).table("eta_reliability").rows
    assert only_bob == [["Bob Jones", 3, 1, 2, 33.3, 0.33, 2]]


def test_feedback_over_time_and_follow_ups(db_session, org):
    report = _report(db_session)
    assert report.table("feedback").rows == [
        ["week of 2026-03-02", 2, 3.5, 0, None, 1, 1],
        ["week of 2026-03-09", 0, None, 1, 4.0, 0, 0],
    ]
    assert report.totals["rating"] == 3.67
    assert report.table("feedback_follow_ups").rows == [
        ["2026-03-04 10:00", "J-OPEN", "early", 2, "No news", "Bob Jones", "claimed"]
    ]


def test_by_line_and_by_coordinator(db_session, org):
    report = _report(db_session)
    assert [row[0::2] for row in report.table("lines").rows] == [
        ["Alice Smith", 5, 3],
        ["Ben Ong", 3, 1],
    ]
    assert report.table("coordinators").rows == [
        ["Cora Diaz", 3, 2, 10.0, None],
        ["Dev Rao", 1, 1, 10.0, None],
    ]


def test_line_and_coordinator_filters(db_session, org):
    ben = _report(db_session, line_id=org.ben_line)
    assert [row[1:4] for row in ben.table("calls").rows] == [[1, 0, 1], [2, 2, 0]]
    assert [row[0] for row in ben.table("lines").rows] == ["Ben Ong"]
    cora = _report(db_session, coordinator_id=org.cora)
    assert [row[1] for row in cora.table("calls").rows] == [1, 2]
    assert [row[0] for row in cora.table("coordinators").rows] == ["Cora Diaz"]


def test_period_must_be_ordered_and_bounded():
    day = date(2026, 11, 20)
    with pytest.raises(InvalidPeriod):
        Period.of_days(TZ, day, day - timedelta(days=1))
    with pytest.raises(InvalidPeriod):
        Period.of_days(TZ, day - timedelta(days=366), day)
    assert Period.of_days(TZ, day - timedelta(days=365), day).last == day


class _Tables(HTMLParser):
    """Every <table data-table=…> of a page as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._key = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._key = attrs["data-table"]
            self.tables[self._key] = []
        elif self._key and tag == "tr":
            self.tables[self._key].append([])
        elif self._key and tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._key = None
        elif self._key and tag in ("td", "th") and self._cell is not None:
            self.tables[self._key][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture
def admin_client(client, db_session, org):
    admin = make_user(db_session, role=Role.ADMIN)
    db_session.commit()
    login(client, admin.email)
    return client


def test_csv_matches_the_page(admin_client, org):
    query = f"from={FIRST}&to={LAST}&by=week&manager={org.bob}"
    page = admin_client.get(f"/reports/?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    parser = _Tables()
    parser.feed(html)
    assert len(parser.tables) == 12
    for key, rows in parser.tables.items():
        export = admin_client.get(f"/reports/export.csv?{query}&table={key}")
        assert export.status_code == 200
        assert export.mimetype == "text/csv"
        assert list(csv.reader(io.StringIO(export.get_data(as_text=True)))) == rows, key
    everything = admin_client.get(f"/reports/export.csv?{query}")
    sections = {row[0] for row in csv.reader(io.StringIO(everything.get_data(as_text=True)))}
    assert set(parser.tables) <= sections


def test_page_draws_a_chart_per_figure(admin_client, org):
    html = admin_client.get(f"/reports/?from={FIRST}&to={LAST}").get_data(as_text=True)
    charts = re.findall(r'data-chart="(\w+)"', html)
    assert charts == [
        "calls",
        "outcomes",
        "status_calls",
        "lead_capture",
        "enquiries",
        "refunds",
        "eta_reliability",
        "feedback",
    ]
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    assert "<script" not in main and "<svg" in main
    # 14 days default to daily bars: one rect per non-empty value of the calls chart.
    assert 'data-series="answered"' in html


def test_bad_input_is_a_clear_error(admin_client):
    for query, message in (
        ("from=yesterday", "must be a date"),
        ("by=month", "must be day or week"),
        ("line=abc", "must be chosen"),
        ("manager=99999999999999999999", "must be chosen"),
        ("from=9999-12-31&to=9999-12-31", "from 1970 to 2999"),
        ("from=2025-01-01&to=2026-03-01", "at most one year"),
    ):
        response = admin_client.get(f"/reports/?{query}")
        assert response.status_code == 422, query
        assert message in response.get_data(as_text=True)
    assert admin_client.get("/reports/export.csv?table=nope").status_code == 422


def test_coordinator_may_not_see_reports(client, db_session):
    coordinator = make_user(db_session, role=Role.COORDINATOR)
    db_session.commit()
    login(client, coordinator.email)
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/export.csv").status_code == 403


def test_charts_are_plain_svg_with_one_group_per_series():
    from routing.reports.charts import Series, bar_chart, line_chart

    bars = bar_chart(
        "Calls <all>", ["2026-03-02", "2026-03-03"], [Series("a", [1, 2]), Series("b", [0, 3])]
    )
    assert bars.svg.count('<g class="series"') == 2
    assert bars.svg.count("<rect") == 3  # a zero draws nothing
    assert "Calls &lt;all&gt;" in bars.svg and "<script" not in bars.svg
    lines = line_chart("Rating", ["d1", "d2", "d3"], [Series("early", [4, None, 5])], top=5)
    assert lines.svg.count("<circle") == 2 and "<polyline" not in lines.svg  # a gap, no line
    assert [name for name, _ in lines.legend] == ["early"]


def test_default_page_is_twelve_whole_weeks(admin_client):
    html = admin_client.get("/reports/").get_data(as_text=True)
    first = date.fromisoformat(
        re.search(r'id="from" name="from" type="date" value="([\d-]+)"', html)[1]
    )
    last = date.fromisoformat(re.search(r'id="to" name="to" type="date" value="([\d-]+)"', html)[1])
    assert first.weekday() == 0 and 77 <= (last - first).days <= 83
    assert '<option value="week" selected>' in html
    assert html.count('data-table="calls"') == 1
    assert (
        len(re.findall(r"<td>week of ", html.split('data-table="calls"')[1].split("</table>")[0]))
        == 12
    )

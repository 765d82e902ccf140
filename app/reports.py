"""The seed's ``generateReport``: a sales report built month by month, streamed.

The action (``POST /reports/generate``) validates the parameters and says where
the report streams from; the stream itself is a ``GET`` (``/reports/run``),
because server-sent events are ``GET`` requests and making a report changes
nothing. One producer, three encodings (the toolkit's ``stream_response``):

- with JavaScript the action answers with the form, and inside it an element
  with ``hx-sse:connect``: htmx 4's SSE extension swaps in the report so far after
  every month, progress bar included, and closes on the final ``done`` event;
- without JavaScript the action redirects (303) to the stream, which is a whole
  HTML page rendered while the months are computed (``stream_template``);
- ``Accept: application/x-ndjson`` gets one JSON object per line per month, as the
  seed's ``ReadableStream`` does.

The stream checks its parameters again (it is a URL anyone can type). When the
client goes away, the server closes the response and the producer stops at the
month it is on.
"""

from __future__ import annotations

import dataclasses
import time
import typing as t

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import stream_template
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import func
from wtforms import SelectChoice
from wtforms import SelectField

from flask_server_actions import ActionError
from flask_server_actions import ActionState
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import redirect_to
from flask_server_actions import render_page
from flask_server_actions import response_mode
from flask_server_actions.streaming import TooManyStreams
from flask_server_actions.streaming import check_stream_limits
from flask_server_actions.streaming import stream_format
from flask_server_actions.streaming import stream_response

from .models import SALE_REGIONS
from .models import Sale
from .models import db

if t.TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator

bp = Blueprint("reports", __name__)

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SECTIONS = len(MONTHS)
YEARS = ("2026", "2025")


class ReportForm(FlaskForm):
    year = SelectField(
        "Year",
        choices=[SelectChoice(y, y) for y in YEARS],
        default=YEARS[0],
        validate_choice=True,
    )
    region = SelectField(
        "Region",
        choices=[
            SelectChoice("all", "All regions"),
            *(SelectChoice(r.lower(), r) for r in SALE_REGIONS),
        ],
        default="all",
        validate_choice=True,
    )


@dataclasses.dataclass(frozen=True)
class MonthSection:
    """One chunk of the report: a month's orders."""

    number: int
    label: str
    orders: int
    revenue_cents: int
    best_region: str | None

    @property
    def average_cents(self) -> int:
        return self.revenue_cents // self.orders if self.orders else 0

    #: Not the note that the time limit ended the report.
    stopped: t.ClassVar[bool] = False

    def to_json(self) -> dict[str, t.Any]:
        return {
            "section": self.number,
            "of": SECTIONS,
            "month": self.label,
            "orders": self.orders,
            "revenue_cents": self.revenue_cents,
            "average_cents": self.average_cents,
            "best_region": self.best_region,
        }


@dataclasses.dataclass(frozen=True)
class ReportStopped:
    """The last chunk when the stream's time limit ended the report early."""

    done: int
    stopped: t.ClassVar[bool] = True

    @property
    def message(self) -> str:
        return (
            f"The report took too long and was stopped after {self.done} of"
            f" {SECTIONS} months. Please try again later."
        )

    def to_json(self) -> dict[str, t.Any]:
        return {
            "stopped": True,
            "of": SECTIONS,
            "done": self.done,
            "message": self.message,
        }


Chunk = MonthSection | ReportStopped


def _month_section(year: int, region: str, month: int) -> MonthSection:
    start = f"{year:04d}-{month:02d}-01"
    end = f"{year + (month == 12):04d}-{month % 12 + 1:02d}-01"
    where = [Sale.sold_on >= start, Sale.sold_on < end]
    if region != "all":
        where.append(Sale.region == region.title())
    orders, revenue = db.session.execute(
        db.select(
            func.count(Sale.id), func.coalesce(func.sum(Sale.amount_cents), 0)
        ).where(*where)
    ).one()
    best = db.session.execute(
        db.select(Sale.region)
        .where(*where)
        .group_by(Sale.region)
        .order_by(func.sum(Sale.amount_cents).desc())
        .limit(1)
    ).scalar()
    return MonthSection(month, f"{MONTHS[month - 1]} {year}", orders, revenue, best)


def report_sections(year: int, region: str) -> Iterator[MonthSection]:
    """Make the report one month at a time, each only when the stream asks.

    ``SITE_REPORT_SECTION_DELAY`` (seconds) stands in for slow work so the
    progress is visible; ``TEST_REPORT_HOLD_LAST`` (tests only: an object with
    ``wait(timeout)``, e.g. a :class:`threading.Event`) holds the last month back
    until a test has seen the first ones.
    """
    delay = float(current_app.config["SITE_REPORT_SECTION_DELAY"])
    hold = current_app.config.get("TEST_REPORT_HOLD_LAST")
    for month in range(1, SECTIONS + 1):
        if month == SECTIONS and hold is not None:
            hold.wait(30)
        if delay:
            time.sleep(delay)
        yield _month_section(year, region, month)


def _params() -> dict[str, str]:
    form = ReportForm(request.args, meta={"csrf": False})
    if not form.validate():
        abort(400)
    return {"year": form.year.data, "region": form.region.data}


def region_label(region: str) -> str:
    return "All regions" if region == "all" else f"{region.title()} region"


@bp.get("/reports")
@login_required
def index() -> str:
    return render_page("reports/index.html", total=SECTIONS)


@action(
    bp,
    page=index,
    form=ReportForm,
    allow=allow.signed_in,
    rule="/reports/generate",
    reset=False,
    max_body="4 KB",
)
def generate_report(form: ReportForm) -> ActionState:
    """Check the parameters; the report itself streams from :func:`run`."""
    try:
        # Said here, in the form, rather than by the stream it would open.
        check_stream_limits()
    except TooManyStreams as refused:
        raise ActionError(
            str(refused.description),
            status=429,
            headers={"Retry-After": str(refused.retry_after)},
        ) from None
    params = {"year": form.year.data, "region": form.region.data}
    if response_mode() == "plain":
        # Without JavaScript the report page itself streams in.
        return redirect_to("reports.run", **params)
    return ActionState.success(
        f"The {params['year']} report is coming in below.",
        data={"stream_url": url_for("reports.run", **params), **params},
        reset=False,
    )


@bp.get("/reports/run")
@login_required
def run() -> ResponseReturnValue:
    params = _params()
    year, region = int(params["year"]), params["region"]
    done: list[MonthSection] = []

    def months() -> Iterator[Chunk]:
        source = report_sections(year, region)
        try:
            for section in source:
                done.append(section)
                yield section
        finally:
            source.close()

    def as_sse(chunk: Chunk) -> str:
        return render_template(
            "reports/_report.html",
            sections=done,
            total=SECTIONS,
            year=year,
            region=region_label(region),
            stopped=chunk.message if isinstance(chunk, ReportStopped) else None,
        )

    try:
        return stream_response(
            months(),
            html=lambda chunks: stream_template(
                "reports/run.html",
                sections=chunks,
                total=SECTIONS,
                year=year,
                region=region_label(region),
                form_values=params,
            ),
            sse=as_sse,
            ndjson=lambda chunk: chunk.to_json(),
            stopped=lambda: ReportStopped(len(done)),
        )
    except TooManyStreams as refused:
        return refused_stream(refused)


def refused_stream(refused: TooManyStreams) -> ResponseReturnValue:
    """A 429 in the shape the stream's caller reads.

    htmx's first request of an SSE stream is an ordinary GET whose answer, when
    it is not an event stream, is swapped into the element that asked: so the
    sentence lands where the report would have.
    """
    headers = {
        "Retry-After": str(refused.retry_after),
        "Cache-Control": "no-store",
        "Vary": "Accept",
    }
    fmt = stream_format()
    if fmt == "ndjson":
        return {"ok": False, "message": refused.description}, 429, headers
    if fmt == "sse":
        page = render_template("reports/_refused.html", message=refused.description)
        return page, 429, headers
    page = render_template(
        "error.html",
        code=429,
        title="Too many reports at once",
        text=refused.description,
        back_url=url_for("reports.index"),
        back_label="Back to reports",
    )
    return page, 429, headers


@bp.app_template_filter("money")
def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"

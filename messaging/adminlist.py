"""Change-list helpers for tables of millions of rows (the message admin).

Django's admin counts every matching row on each page view and builds its date hierarchy with
SELECT DISTINCT date_trunc(...) over every row: about a second each at 1,000,000 messages. Here the
count is the planner's estimate for the unfiltered table and a time-limited exact count otherwise,
and the date hierarchy probes the (created_at, id) index once per candidate year, month or day.
"""

import calendar
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

from django.core.paginator import Paginator
from django.db import OperationalError, connections, transaction
from django.db.models import Max, Min, QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.text import capfirst

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A count or a date-hierarchy probe slower than this gives up (estimate instead, or no hierarchy).
QUERY_BUDGET_MS = 300
# Below this many rows (by the planner's estimate) an exact count is cheap and exact is nicer.
ESTIMATE_ABOVE_ROWS = 100_000


def within_budget(queryset: QuerySet[Any], run: Callable[[], T], fallback: Callable[[], T]) -> T:
    """run() with a PostgreSQL statement timeout of QUERY_BUDGET_MS; fallback() if it is exceeded.

    Runs in a transaction (a savepoint inside an outer one) so SET LOCAL ends with it; the timeout
    is also reset explicitly, as releasing a savepoint would keep it for the outer transaction.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return run()
    try:
        with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(QUERY_BUDGET_MS)}")
            result = run()
            cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
            return result
    except OperationalError as exc:  # psycopg's QueryCanceled
        logger.info("admin query over %s ms budget, falling back: %s", QUERY_BUDGET_MS, exc)
        return fallback()


def _table_estimate(queryset: QuerySet[Any]) -> int | None:
    """The planner's row estimate for the whole table (pg_class.reltuples), None if never analysed."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table]
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None


def _plan_estimate(queryset: QuerySet[Any]) -> int:
    """The planner's row estimate for a filtered query (EXPLAIN, not run)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class LargeTablePaginator(Paginator):
    """Counts cheaply: the table estimate when unfiltered, else an exact count within the budget."""

    @cached_property
    def count(self) -> int:
        """Rows matching the change list's filters, estimated where an exact count would be slow."""
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        if not queryset.query.where:
            estimate = _table_estimate(queryset)
            if estimate is not None and estimate > ESTIMATE_ABOVE_ROWS:
                return estimate
        return within_budget(queryset, queryset.count, lambda: _plan_estimate(queryset))


# --- date hierarchy ---------------------------------------------------------------------------------


def _bounds(queryset: QuerySet[Any], field: str) -> tuple[datetime, datetime] | None:
    """(first, last) value of `field` in local time: two index endpoint reads."""
    bounds = queryset.order_by().aggregate(first=Min(field), last=Max(field))
    if bounds["first"] is None:
        return None
    return timezone.localtime(bounds["first"]), timezone.localtime(bounds["last"])


def _periods(
    kind: str, year: int | None, month: int | None, bounds: tuple[datetime, datetime]
) -> list[datetime]:
    """Start of every year (between `bounds`), month (of `year`) or day (of `year`-`month`)."""
    zone = timezone.get_current_timezone()
    if kind == "year":
        return [datetime(y, 1, 1, tzinfo=zone) for y in range(bounds[0].year, bounds[1].year + 1)]
    if year is None:
        return []
    if kind == "month":
        return [datetime(year, m, 1, tzinfo=zone) for m in range(1, 13)]
    if month is None:
        return []
    days = calendar.monthrange(year, month)[1]
    return [datetime(year, month, d, tzinfo=zone) for d in range(1, days + 1)]


def _next(start: datetime, kind: str) -> datetime:
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        return start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start + timedelta(days=1)


def periods_with_rows(
    queryset: QuerySet[Any],
    field: str,
    kind: str,
    year: int | None,
    month: int | None,
    bounds: tuple[datetime, datetime] | None,
) -> list[datetime]:
    """The periods of `kind` within `bounds` in which `queryset` has rows: one query, one index probe each."""
    if bounds is None:
        return []
    first, last = bounds
    candidates = [
        start for start in _periods(kind, year, month, bounds) if start <= last and _next(start, kind) > first
    ]
    if not candidates:
        return []
    base = queryset.order_by()
    # The first row of each period in index order, not EXISTS: with EXISTS the planner may pick a
    # sequential scan, expecting an early match, on a table that is physically in created_at order.
    probes = {
        f"p{i}": Subquery(
            base.filter(**{f"{field}__gte": start, f"{field}__lt": _next(start, kind)})
            .order_by(field)
            .values(field)[:1]
        )
        for i, start in enumerate(candidates)
    }
    # Uncorrelated subqueries run once each; the outer query only has to yield one row.
    found = next(iter(base.annotate(**probes).values(*probes)[:1]), None) or {}
    return [start for i, start in enumerate(candidates) if found.get(f"p{i}") is not None]


def date_hierarchy_context(cl: Any) -> dict[str, Any]:
    """The context Django's admin/date_hierarchy.html expects, computed with index probes.

    Same levels and links as django.contrib.admin's date_hierarchy tag; when its queries exceed the
    budget, the hierarchy is left out rather than slowing the page.
    """
    field = cl.date_hierarchy
    year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"
    raw_year, raw_month, day = (cl.params.get(name) for name in (year_field, month_field, day_field))
    year = int(raw_year) if raw_year else None
    month = int(raw_month) if raw_month else None
    queryset = cl.queryset

    def link(filters: dict[str, Any]) -> str:
        return str(cl.get_query_string(filters, [f"{field}__"]))

    def build() -> dict[str, Any]:
        nonlocal year, month
        if year and month and day:
            date = datetime(year, month, int(day), tzinfo=timezone.get_current_timezone())
            return {
                "show": True,
                "back": {
                    "link": link({year_field: year, month_field: month}),
                    "title": capfirst(formats.date_format(date, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(date, "MONTH_DAY_FORMAT"))}],
            }
        bounds = _bounds(queryset, field)
        if year is None and month is None and not day and bounds is not None:
            # Start at the finest level that still has a choice, as Django's tag does.
            first, last = bounds
            if first.year == last.year:
                year = first.year
                if first.month == last.month:
                    month = first.month
        if year and month:
            days = periods_with_rows(queryset, field, "day", year, month, bounds)
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: month, day_field: d.day}),
                        "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
                    }
                    for d in days
                ],
            }
        if year:
            months = periods_with_rows(queryset, field, "month", year, None, bounds)
            return {
                "show": True,
                "back": {"link": link({}), "title": "All dates"},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: m.month}),
                        "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT")),
                    }
                    for m in months
                ],
            }
        years = periods_with_rows(queryset, field, "year", None, None, bounds)
        return {
            "show": True,
            "back": None,
            "choices": [{"link": link({year_field: str(y.year)}), "title": str(y.year)} for y in years],
        }

    return within_budget(queryset, build, lambda: {"show": False})

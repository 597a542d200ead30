"""The pieces compiled expectations are made of: the plan of one expectation, its outcome, SQL terms.

Every term is a sqlglot expression, so the query they make renders for any engine's dialect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp

from lakemesh.engines import EngineCapabilities
from lakemesh.spec.expectations import Expectation

Evaluator = Callable[[list[Any]], "Outcome"]


@dataclass
class Outcome:
    """What one expectation observed."""

    success: bool
    observed: Any = None
    unexpected: int | None = None
    domain: int | None = None  # the rows the expectation judged (non-null values for column maps)
    detail: str = ""
    examples: tuple[dict[str, Any], ...] | None = None  # found by the scan itself (duplicated keys)

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected is None or not self.domain:
            return None if self.unexpected is None else 0.0
        return 100.0 * self.unexpected / self.domain


@dataclass
class Plan:
    """One compiled expectation: its aggregates in the shared SELECT and how to read them."""

    expectation: Expectation
    aggregates: list[exp.Expr] = field(default_factory=list)
    evaluate: Evaluator = field(default=lambda values: Outcome(True))
    unexpected: exp.Expr | None = None  # row predicate: examples and quarantine
    error: str | None = None  # could not be compiled against this table
    ctes: dict[str, exp.Select] = field(default_factory=dict)  # shared by plans grouping the same keys


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def lit(value: Any) -> exp.Expr:
    if isinstance(value, datetime | date):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIMESTAMP" if isinstance(value, datetime) else "DATE")
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    return exp.convert(value)


def count_if(condition: exp.Expr) -> exp.Expr:
    return exp.CountIf(this=condition)


def count_all(expression: exp.Expr | None = None) -> exp.Expr:
    return exp.Count(this=expression if expression is not None else exp.Star())


def not_null(c: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null()))


def is_null(c: exp.Expr) -> exp.Expr:
    return exp.Is(this=c.copy(), expression=exp.Null())


def and_(*parts: exp.Expr) -> exp.Expr:
    return exp.and_(*[exp.paren(p, copy=False) if isinstance(p, exp.Or) else p for p in parts])


def as_text(c: exp.Expr) -> exp.Expr:
    return exp.cast(c.copy(), "VARCHAR")


def regex_match(c: exp.Expr, pattern: str) -> exp.Expr:
    return exp.RegexpLike(this=as_text(c), expression=exp.Literal.string(pattern))


def in_list(c: exp.Expr, values: list[Any]) -> exp.Expr:
    return exp.In(this=c.copy(), expressions=[lit(v) for v in values if v is not None])


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


# --- comparisons of an observed value ----------------------------------------------------------------


def between(value: Any, kw: dict[str, Any]) -> bool:
    """GE's min_value/max_value/strict_min/strict_max test; a missing value fails."""
    if value is None:
        return False
    lo, hi = kw.get("min_value"), kw.get("max_value")
    lo, hi, value = _comparable(lo, value), _comparable(hi, value), _comparable(value, value)
    if lo is not None and (value <= lo if kw.get("strict_min") else value < lo):
        return False
    return not (hi is not None and (value >= hi if kw.get("strict_max") else value > hi))


def _comparable(bound: Any, like: Any) -> Any:
    if bound is None:
        return None
    if isinstance(like, Decimal | float | int) and not isinstance(like, bool):
        return float(bound)
    if isinstance(like, datetime) and isinstance(bound, str):
        return datetime.fromisoformat(bound)
    if isinstance(like, date) and isinstance(bound, str):
        return date.fromisoformat(bound)
    return bound


def odcs_compare(value: float, operator: list[Any] | None) -> bool:
    """The ODCS operators (mustBe, mustBeLessThan, mustBeBetween, ...) applied to a metric."""
    if not operator:
        return value == 0
    op, bound = operator
    if op == "mustBe":
        return bool(value == bound)
    if op == "mustNotBe":
        return bool(value != bound)
    if op in ("mustBeBetween", "mustNotBeBetween"):
        inside = float(bound[0]) <= value <= float(bound[1])
        return inside if op == "mustBeBetween" else not inside
    limit = float(bound)
    return {
        "mustBeGreaterThan": value > limit,
        "mustBeGreaterOrEqualTo": value >= limit,
        "mustBeLessThan": value < limit,
        "mustBeLessOrEqualTo": value <= limit,
    }[op]


def describe_operator(operator: list[Any] | None, unit: str) -> str:
    if not operator:
        return "must be 0"
    op, bound = operator
    words = re.sub(r"([A-Z])", r" \1", op).lower()
    suffix = "%" if unit == "percent" else ""
    if isinstance(bound, list):
        return f"{words} {bound[0]}{suffix} and {bound[1]}{suffix}"
    return f"{words} {bound}{suffix}"


def mostly_outcome(unexpected: int, domain: int, mostly: float) -> Outcome:
    ok = domain == 0 or (domain - unexpected) / domain >= mostly
    return Outcome(ok, unexpected, unexpected, domain)


# --- compiling one expectation --------------------------------------------------------------------------


@dataclass
class Context:
    """What compiling needs to know: the relation's SQL name, its columns and what the engine can do."""

    relation: exp.Expr
    columns: dict[str, str]  # name -> engine type
    capabilities: EngineCapabilities
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def dialect(self) -> str:
        return self.capabilities.dialect

    def source(self) -> exp.Expr:
        return self.relation.copy()


COPIES = "__lakemesh_copies"


def duplicated_keys(ctx: Context, keys: list[str]) -> tuple[str, exp.Select]:
    """A CTE of the keys occurring more than once and how often: one GROUP BY however many rules need it."""
    cols = [col(k) for k in keys]
    name = "__lakemesh_dup_" + "_".join(f"{len(k)}{re.sub(r'[^A-Za-z0-9]', '_', k)}" for k in keys)
    grouped = (
        exp.select(*cols, exp.alias_(count_all(), COPIES))
        .from_(ctx.source())
        .where(judged(keys))
        .group_by(*[c.copy() for c in cols])
        .having(exp.GT(this=count_all(), expression=exp.Literal.number(1)))
    )
    return name, grouped


def duplicates(name: str, extra: bool) -> exp.Expr:
    """A scalar subquery: rows whose key occurs more than once (or, `extra`, the copies beyond the first)."""
    n = exp.column(COPIES)
    measure = exp.Sub(this=n, expression=exp.Literal.number(1)) if extra else n
    return exp.Subquery(this=exp.select(exp.Sum(this=measure)).from_(name))


def duplicate_examples(name: str, keys: list[str], limit: int = 3) -> exp.Expr:
    """A scalar subquery: the most repeated keys with their copies, as a list of structs."""
    fields = [exp.PropertyEQ(this=exp.to_identifier(k), expression=col(k)) for k in keys]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("copies"), expression=exp.column(COPIES)))
    top = (
        exp.select(exp.alias_(exp.Struct(expressions=fields), "x"))
        .from_(name)
        .order_by(exp.Ordered(this=exp.column(COPIES), desc=True))
        .limit(limit)
    )
    return exp.Subquery(this=exp.select(exp.ArrayAgg(this=exp.column("x"))).from_(exp.Subquery(this=top)))


def judged(keys: list[str]) -> exp.Expr:
    cols = [col(k) for k in keys]
    return not_null(cols[0]) if len(cols) == 1 else exp.Not(this=exp.paren(and_(*[is_null(c) for c in cols])))


def unique_predicate(keys: list[str]) -> exp.Expr:
    """Row predicate: this row's key occurs more than once (a window count; only for examples and quarantine)."""
    window = exp.Window(this=count_all(), partition_by=[col(k) for k in keys])
    return and_(judged(keys), exp.GT(this=window, expression=exp.Literal.number(1)))


def structs(ctx: Context) -> bool:
    """Whether the engine returns a list of structs from a scalar subquery (examples found in the scan);
    elsewhere examples of repeated keys come from a query of their own."""
    return ctx.capabilities.struct_lists


def extra(values: set[Any]) -> str:
    return f"unexpected {sorted(values, key=str)[:10]} " if values else ""


def missing(values: set[Any]) -> str:
    return f"missing {sorted(values, key=str)[:10]}" if values else ""


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value

"""Column lineage computed from the transforms: which input columns feed each output column, and how.

A SQL transform is qualified once with sqlglot against its inputs' contract columns (so `*`, `* EXCLUDE`,
`* REPLACE`, CTEs, UNION and subqueries resolve to real columns), then every scope of the qualified tree
is walked once, innermost first; sqlglot's own `lineage()` re-qualifies per column, too slow for 30.

How an input column reaches an output column (OpenLineage's subtypes):
- direct: IDENTITY (the value as is, maybe renamed), TRANSFORMATION (a row-wise expression: casts, string
  functions, arithmetic, the values of CASE/IF/COALESCE, UNNEST), AGGREGATION (inside an aggregate,
  window value functions like `lag` and `first_value` included, as sqlglot classifies them). Through
  several queries the strongest wins: IDENTITY < TRANSFORMATION < AGGREGATION.
- indirect, attached to the one output column they shape: CONDITIONAL (a CASE/IF condition, the operand
  of a simple CASE, and every COALESCE argument but the last, whose nullness picks the value), WINDOW (the
  PARTITION BY / ORDER BY of a window feeding the column), FILTER (an aggregate's `FILTER (WHERE ...)`).
- indirect, attached to EVERY output column of the query (the convention: there is no dataset-level
  list in the model): JOIN (ON/USING), FILTER (WHERE, HAVING, QUALIFY), GROUP_BY, SORT (ORDER BY). They
  decide which rows exist, so they carry through CTEs and subqueries to every column read from them.
  DISTINCT and UNION's deduplication add no edge (the deduplicated columns are the outputs themselves).
- a column used in an indirect role anywhere (outer WHERE on a CTE column) passes that role on to every
  input of that column. A LATERAL subquery is read like a derived table; VALUES rows feed from no input.
- an input's contract types are accepted but not needed: lineage goes by column names.

Nothing here raises on bad input: SQL that does not parse or qualify, dynamic constructs (PIVOT,
`COLUMNS(...)`), a `*` over an input of unknown columns, a column no input has: the columns concerned fall
back to product-level lineage, each named in a warning, and the result's granularity says PRODUCT.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sqlglot
from pydantic import BaseModel, Field
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from lakemesh.lineage.model import (
    DIRECT_SUBTYPES,
    ColumnEdge,
    ColumnRef,
    EdgeSubtype,
    EdgeType,
    Granularity,
    ProductLineage,
    Transformation,
)
from lakemesh.lineage.sources import applied_by_name, bronze_lineage, declared_lineage
from lakemesh.pipeline.rebuild import fingerprint
from lakemesh.pipeline.transform import TransformError, load_sql
from lakemesh.spec.types import DEFAULT_DIALECT
from lakemesh.spec.workspace import ProductEntry, Workspace

S = EdgeSubtype
Ref = tuple[str, str]  # (product id, column); product "" marks an input that could not be resolved
Feeds = dict[Ref, set[EdgeSubtype]]
Schemas = Mapping[str, Sequence[str] | Mapping[str, str]]

_RANK = {S.IDENTITY: 0, S.TRANSFORMATION: 1, S.AGGREGATION: 2}
_UNKNOWN = ""
_CLAUSES = (("where", S.FILTER), ("having", S.FILTER), ("qualify", S.FILTER), ("group", S.GROUP_BY))
_DYNAMIC = (exp.Columns, exp.Placeholder)
_PASS_THROUGH = (exp.Alias, exp.Paren, exp.Subquery)
_ORDER = list(EdgeSubtype)
_AS_IS = frozenset({S.IDENTITY})


class Derivation(BaseModel):
    """What `derive` found: the edges, the input products, and a warning per column it could not derive."""

    granularity: Granularity
    inputs: list[str] = Field(default_factory=list)
    edges: list[ColumnEdge] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def derive(
    sql: str | exp.Expression,
    inputs: Schemas,
    output_columns: Sequence[str] | None = None,
    dialect: str = DEFAULT_DIALECT,
    product_id: str = "output",
) -> Derivation:
    """The column lineage of one query over `inputs` (product id -> its contract columns, with types or
    not); only `output_columns` (the product's contract) when given, every query output otherwise."""
    try:
        columns = _derive_columns(sql, inputs, dialect)
    except (SqlglotError, ValueError, KeyError, TypeError, AttributeError) as exc:  # sqlglot's own, too
        reason = f"the SQL could not be analysed ({type(exc).__name__}: {_first_line(exc)})"
        return _product_level(inputs, output_columns or [], reason, product_id)
    return _edges(columns, inputs, output_columns, product_id)


def product_lineage(workspace: Workspace, entry: ProductEntry, dialect: str = DEFAULT_DIALECT) -> ProductLineage:
    """The lineage of one product as built today: bronze from its source, SQL derived, Python declared."""
    inputs = [p for p in (workspace.producer_of(port.contract_id) for port in entry.spec.input_ports) if p]
    outputs = list(contract_columns(entry))
    build = entry.spec.build
    if build.source is not None:
        found = bronze_lineage(workspace, entry, outputs)
        return ProductLineage(product_id=entry.id, fingerprint=_fingerprint(entry), **found)
    schemas = {p: contract_columns(workspace.products[p]) for p in inputs if p in workspace.products}
    transform = build.transform
    if transform is not None and transform.sql is not None:
        derived = _derive_product_sql(entry, inputs, schemas, outputs, dialect)
    elif transform is not None and transform.python is not None:
        derived = Derivation(**declared_lineage(entry, schemas, outputs))
    else:  # no transform: the runner applies its inputs by column name (cdc folds, plain copies)
        derived = Derivation(**applied_by_name(entry, schemas, outputs))
    return ProductLineage(
        product_id=entry.id,
        fingerprint=_fingerprint(entry),
        granularity=derived.granularity,
        inputs=inputs,
        edges=derived.edges,
        warnings=derived.warnings,
    )


def contract_columns(entry: ProductEntry) -> dict[str, str]:
    """The product's main table's columns and their types (physical, else logical), from its contract."""
    contract = entry.contract
    if contract is None or not contract.tables:
        return {}
    return {c.name: c.physical_type or c.logical_type or "" for c in contract.table().columns}


def _derive_product_sql(
    entry: ProductEntry, inputs: list[str], schemas: Schemas, outputs: Sequence[str], dialect: str
) -> Derivation:
    """The transform as `run` reads it (checked, in the engine's dialect), derived; product-level when
    it cannot be read."""
    try:
        sql = load_sql(entry, inputs, dialect)
    except TransformError as exc:
        return _product_level(schemas, outputs, f"the transform cannot be read: {exc.message}", entry.id)
    return derive(sql, schemas, outputs, dialect, entry.id)


def _fingerprint(entry: ProductEntry) -> str:
    """The build fingerprint: the spec (declared lineage included), the transform source, the contract."""
    return f"{fingerprint(entry):016x}"


def _derive_columns(sql: str | exp.Expression, inputs: Schemas, dialect: str) -> dict[str, Feeds]:
    """Every output column of the query with its feeds, the query's row-deciding inputs included."""
    tree = sql.copy() if isinstance(sql, exp.Expression) else sqlglot.parse_one(sql, read=dialect)
    if tree.find(exp.Pivot) is not None:  # UNPIVOT too
        raise ValueError("PIVOT makes its output columns from the data")
    names = {_normal(product): {_normal(c): c for c in columns} for product, columns in inputs.items()}
    using = frozenset(_normal(i.name) for join in tree.find_all(exp.Join) for i in join.args.get("using") or [])
    qualified = qualify(
        tree, schema=_mapping(names), dialect=dialect, validate_qualify_columns=False, quote_identifiers=False
    )
    root = build_scope(qualified)
    if root is None:
        raise ValueError("not a query sqlglot can scope")
    top = _Walker(names, root, using).lineage(root)
    return {name: _merged(feeds, top.rows) for name, feeds in top.columns.items()}


def _mapping(names: dict[str, dict[str, str]]) -> dict[str, object]:
    """sqlglot's schema: domain -> table -> column -> type. Lineage needs no types: all UNKNOWN."""
    nested: dict[str, dict[str, dict[str, str]]] = {}
    for product, columns in names.items():
        domain, _, table = product.rpartition(".")
        nested.setdefault(domain, {})[table] = dict.fromkeys(columns, "UNKNOWN")
    return {domain: tables for domain, tables in nested.items()}


@dataclass
class _Lineage:
    """One query's outputs with their feeds (direct, and the indirect ones of that column only), and the
    feeds that decide which rows it has (for every column)."""

    columns: dict[str, Feeds]
    rows: Feeds = field(default_factory=dict)


class _Walker:
    """Each scope's lineage once, from the scopes it reads; a scope is memoized by identity."""

    def __init__(self, names: dict[str, dict[str, str]], root: Scope, using: frozenset[str]) -> None:
        self.names = names
        self.using = using
        self.done: dict[int, _Lineage] = {}
        self.subqueries = {id(s.expression): s for scope in root.traverse() for s in scope.subquery_scopes}

    def lineage(self, scope: Scope) -> _Lineage:
        key = id(scope)
        if key not in self.done:
            self.done[key] = _Lineage({}, _unknown("a recursive CTE reads itself"))  # seen while computing
            self.done[key] = self._compute(scope)
        return self.done[key]

    def _compute(self, scope: Scope) -> _Lineage:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            return self._set_operation(scope)
        if isinstance(expression, exp.Select):
            return self._select(scope)
        if isinstance(expression, exp.Unnest):
            return self._unnest(scope)
        if isinstance(expression, exp.Values):  # literal rows: columns fed by no input
            alias = expression.args.get("alias")
            return _Lineage({c.name: {} for c in alias.columns} if alias is not None else {})
        inner = [s for s in scope.sources.values() if isinstance(s, Scope)]
        if isinstance(expression, exp.Lateral) and len(inner) == 1:  # LATERAL (SELECT ...): that query
            return self.lineage(inner[0])
        return _Lineage({}, _unknown(f"a {type(expression).__name__.upper()} source is not analysed"))

    def _select(self, scope: Scope) -> _Lineage:
        select = scope.expression
        columns: dict[str, Feeds] = {}
        for item in select.expressions:
            star = isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star))
            if star:
                columns["*"] = _unknown("a * over an input whose columns are unknown")
            else:
                columns[item.alias_or_name] = _merged(
                    self.feeds(scope, item, root=item), self._named_windows(scope, item)
                )
        rows: Feeds = {}
        for _, source in scope.selected_sources.values():
            if isinstance(source, Scope):
                _merge(rows, self.lineage(source).rows)
        for key, subtype in _CLAUSES:
            if select.args.get(key):
                _merge(rows, self.feeds(scope, select.args[key], role=subtype))
        for join in select.args.get("joins") or []:
            if join.args.get("on"):
                _merge(rows, self.feeds(scope, join.args["on"], role=S.JOIN))
        if select.args.get("order"):
            _merge(rows, self.feeds(scope, select.args["order"], role=S.SORT, aliases=columns))
        return _Lineage(columns, rows)

    def _named_windows(self, scope: Scope, item: exp.Expression) -> Feeds:
        """`OVER w` with `WINDOW w AS (PARTITION BY ...)`: the named window's columns, WINDOW edges."""
        named = {w.name: w for w in scope.expression.args.get("windows") or []}
        found: Feeds = {}
        if not named:
            return found
        for window in item.find_all(exp.Window):
            spec = named.get(window.alias) if window.alias and not window.args.get("partition_by") else None
            if spec is not None:
                _merge(found, self.feeds(scope, spec, role=S.WINDOW))
        return found

    def _set_operation(self, scope: Scope) -> _Lineage:
        left, right = (self.lineage(s) for s in scope.set_operation_scopes[:2])
        rights = list(right.columns.values())
        columns = {}
        for i, (name, feeds) in enumerate(left.columns.items()):
            columns[name] = _merged(feeds, rights[i] if i < len(rights) else _unknown("UNION sides differ"))
        rows = _merged(left.rows, right.rows)
        if scope.expression.args.get("order"):
            _merge(rows, self.feeds(scope, scope.expression.args["order"], role=S.SORT, aliases=columns))
        return _Lineage(columns, rows)

    def _unnest(self, scope: Scope) -> _Lineage:
        unnest = scope.expression
        alias = unnest.args.get("alias")
        names = [c.name for c in alias.columns] if alias is not None and alias.columns else [unnest.alias or "unnest"]
        values = unnest.expressions
        columns = {}
        for i, name in enumerate(names):
            value = values[min(i, len(values) - 1)]
            columns[name] = _compose(frozenset({S.TRANSFORMATION}), self.feeds(scope, value, root=value))
        return _Lineage(columns)

    def feeds(
        self,
        scope: Scope,
        node: exp.Expression,
        root: exp.Expression | None = None,
        role: EdgeSubtype | None = None,
        aliases: dict[str, Feeds] | None = None,
    ) -> Feeds:
        """The inputs of one expression of `scope`: each column or nested subquery in it, resolved to
        input columns and composed with its position (or with `role`, a clause's indirect subtype)."""
        found: Feeds = {}
        for ref, subquery in _references(node, self.subqueries):
            if isinstance(ref, _DYNAMIC):
                _merge(found, _unknown(f"{ref.sql()} is dynamic: its columns are known only when it runs"))
                continue
            if subquery is not None:
                inner = self._subquery(subquery)
            elif isinstance(ref, exp.Column):
                inner = self._column(scope, ref, aliases)
            position = frozenset({role}) if role is not None else _position(ref, root or node, self.using)
            _merge(found, _compose(position, inner))
        return found

    def _subquery(self, scope: Scope) -> Feeds:
        lineage = self.lineage(scope)
        found = _merged(*lineage.columns.values()) if lineage.columns else {}
        return _merged(found, lineage.rows)

    def _column(self, scope: Scope, column: exp.Column, aliases: dict[str, Feeds] | None) -> Feeds:
        if not column.table:
            if aliases is not None and column.name in aliases:
                return aliases[column.name]  # ORDER BY an output alias
            source = scope.sources.get(column.name)  # `UNNEST(list) AS u` read as the column `u`
            if isinstance(source, Scope) and isinstance(source.expression, exp.Unnest):
                return next(iter(self.lineage(source).columns.values()), {})
            return _unknown(f"no input has a column {column.name}")
        source = _source(scope, column.table)
        if isinstance(source, exp.Table):
            return self._table_column(source, column.name)
        if isinstance(source, Scope):
            columns = self.lineage(source).columns
            found = columns.get(column.name)
            return found if found is not None else columns.get("*") or _unknown(f"{column.table} has no {column.name}")
        return _unknown(f"{column.table} is not a known input")

    def _table_column(self, table: exp.Table, column: str) -> Feeds:
        product = f"{table.db}.{table.name}" if table.db else table.name
        columns = self.names.get(_normal(product))
        if columns is None:
            return _unknown(f"{product} is not an input with known columns")
        original = columns.get(_normal(column))
        if original is None:
            return _unknown(f"{product} has no column {column}")
        return {(product, original): {S.IDENTITY}}


def _references(node: exp.Expression, subqueries: dict[int, Scope]) -> Iterator[tuple[exp.Expression, Scope | None]]:
    """The columns in `node`, its nested subqueries (not the columns inside those) and anything dynamic."""
    stack = [node]
    while stack:
        current = stack.pop()
        scope = subqueries.get(id(current))
        if scope is not None:
            yield current, scope
        elif isinstance(current, (exp.Column, *_DYNAMIC)):
            yield current, None
        else:
            stack.extend(current.iter_expressions())


def _position(node: exp.Expression, root: exp.Expression, using: frozenset[str]) -> frozenset[EdgeSubtype]:
    """How the value at `node` reaches the value of `root` (a select item): the first indirect role met
    going up wins; else the strongest direct one, with CONDITIONAL for a COALESCE argument that chooses.
    `using`: the JOIN ... USING keys, whose merged column qualify writes as COALESCE(a.k, b.k)."""
    aggregated = transformed = chooses = False
    child: exp.Expr = node
    while child is not root and child.parent is not None:
        parent, key = child.parent, child.arg_key
        if isinstance(parent, exp.Coalesce) and _using_key(parent, using):
            child = parent  # the join key itself, the same value on both sides
            continue
        if isinstance(parent, exp.Window) and key != "this":
            return frozenset({S.WINDOW})
        if isinstance(parent, exp.Order) and key == "expressions" and not isinstance(parent.parent, exp.Window):
            return frozenset({S.SORT})  # string_agg(x ORDER BY y): y orders the values
        if isinstance(parent, (exp.If, exp.Case)) and key == "this":
            return frozenset({S.CONDITIONAL})
        if isinstance(parent, exp.Filter) and key == "expression":
            return frozenset({S.FILTER})
        if isinstance(parent, exp.Coalesce) and child is not (parent.expressions or [parent.this])[-1]:
            chooses = True
        aggregated = aggregated or isinstance(parent, exp.AggFunc)
        transformed = transformed or not isinstance(parent, _PASS_THROUGH)
        child = parent
    direct = S.AGGREGATION if aggregated else S.TRANSFORMATION if transformed else S.IDENTITY
    return frozenset({direct, S.CONDITIONAL} if chooses else {direct})


def _using_key(coalesce: exp.Coalesce, using: frozenset[str]) -> bool:
    parts = [coalesce.this, *coalesce.expressions]
    names = {p.name for p in parts if isinstance(p, exp.Column)}
    return len(names) == 1 and len(parts) > 1 and all(isinstance(p, exp.Column) for p in parts) and names <= using


def _compose(position: frozenset[EdgeSubtype], feeds: Feeds) -> Feeds:
    """Feeds of a value used at `position`: a direct input takes the stronger of the two direct subtypes,
    an indirect one stays as it was under a direct position; an indirect position applies to all."""
    if position == _AS_IS:  # a column passed on as is: its feeds unchanged (the common case in CTE chains)
        return {ref: set(subtypes) for ref, subtypes in feeds.items()}
    direct = [s for s in position if s in DIRECT_SUBTYPES]
    indirect = {s for s in position if s not in DIRECT_SUBTYPES}
    composed: Feeds = {}
    for ref, subtypes in feeds.items():
        if ref[0] == _UNKNOWN:
            composed[ref] = {S.IDENTITY}
            continue
        new = set(indirect)
        for subtype in subtypes:
            if subtype in DIRECT_SUBTYPES:
                new.update(max(subtype, d, key=_RANK.__getitem__) for d in direct)
            elif direct:
                new.add(subtype)
        composed[ref] = new
    return composed


def _source(scope: Scope, alias: str) -> exp.Table | Scope | None:
    """What `alias` names in `scope`, or in an enclosing one (a correlated subquery)."""
    current: Scope | None = scope
    while current is not None:
        if alias in current.sources:
            source: exp.Table | Scope = current.sources[alias]
            return source
        current = current.parent
    return None


def _merge(into: Feeds, more: Feeds) -> None:
    for ref, subtypes in more.items():
        into.setdefault(ref, set()).update(subtypes)


def _merged(*feeds: Feeds) -> Feeds:
    result: Feeds = {}
    for one in feeds:
        _merge(result, one)
    return result


def _unknown(reason: str) -> Feeds:
    return {(_UNKNOWN, reason): {S.IDENTITY}}


def _normal(name: str) -> str:
    return name.lower()


def _edges(columns: dict[str, Feeds], inputs: Schemas, outputs: Sequence[str] | None, product_id: str) -> Derivation:
    """Edges of the wanted output columns; a warning instead for each one that could not be derived."""
    by_lower = {_normal(n): n for n in columns}
    edges: list[ColumnEdge] = []
    warnings = []
    for column in outputs or [n for n in columns if n != "*"]:
        name = column if column in columns else by_lower.get(_normal(column))
        feeds = columns.get(name) if name is not None else None
        if feeds is None:
            reason = "a * over an input whose columns are unknown" if "*" in columns else "the query has no such output"
            feeds = _unknown(reason)
        unknown = sorted({c for p, c in feeds if p == _UNKNOWN})
        if unknown:
            warnings.append(
                f"{product_id}.{column}: column lineage falls back to the product level: {'; '.join(unknown)}"
            )
            continue
        edges += [_edge(ref, product_id, column, subtypes) for ref, subtypes in sorted(feeds.items())]
    granularity = Granularity.PRODUCT if warnings else Granularity.COLUMN
    return Derivation(granularity=granularity, inputs=list(inputs), edges=edges, warnings=warnings)


def _edge(source: Ref, product_id: str, column: str, subtypes: Iterable[EdgeSubtype]) -> ColumnEdge:
    transformations = tuple(
        Transformation(type=EdgeType.DIRECT if s in DIRECT_SUBTYPES else EdgeType.INDIRECT, subtype=s)
        for s in sorted(subtypes, key=_ORDER.index)
    )
    return ColumnEdge(
        source=ColumnRef(product=source[0], column=source[1]),
        target=ColumnRef(product=product_id, column=column),
        transformations=transformations,
    )


def _product_level(inputs: Iterable, outputs: Sequence[str], reason: str, product_id: str) -> Derivation:
    named = ", ".join(outputs) if outputs else "every column"
    warning = f"{product_id}: column lineage of {named} falls back to the product level: {reason}"
    return Derivation(granularity=Granularity.PRODUCT, inputs=list(inputs), warnings=[warning])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no message"

"""`lakemesh demo`: what `make demo` runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lakemesh.cli.command_catalog import render_sync
from lakemesh.cli.command_forget import render_erasure
from lakemesh.cli.command_quality import quality_table
from lakemesh.cli.command_run import render_report
from lakemesh.cli.render import check_table, console, esc, metrics_line, render_rows, working

if TYPE_CHECKING:
    from lakemesh.mesh import Mesh


def demo(
    ctx: typer.Context,
    rows: int = typer.Option(1_000_000, "--rows", min=1, help="Synthetic order events to generate."),
    target: Path = typer.Option(Path("demo-workspace"), "--dir", help="Working folder (replaced on each run)."),
) -> None:
    """Build the example shop mesh end to end: synthetic data, validation, catalog, bronze -> silver -> gold."""
    from lakemesh import demo as demo_lib
    from lakemesh.mesh import Mesh

    started = time.perf_counter()
    console.rule("[bold]lakemesh demo")
    with working("copying the example shop mesh"):
        demo_lib.prepare_workspace(target)
    with working(f"generating {rows:,} order events (with dirty records) and customer records"):
        files = demo_lib.generate_data(target, rows, max(1000, rows // 20))
    for product, (path, count) in files.items():
        console.print(f"[green]✓[/] {count:,} rows for {product} in {path.relative_to(target)}")
    mesh = ctx.with_resource(Mesh.open(target))  # closed when the command ends, however it ends
    report = mesh.validate()
    console.print(
        f"[green]✓[/] validated {len(mesh.workspace.products)} products, "
        f"{len(mesh.workspace.contracts)} contracts: {len(report.errors)} errors"
    )
    console.rule("catalog sync")
    render_sync(mesh.sync())
    console.rule("lakemesh run --all")
    with working("building bronze -> silver -> gold"):
        built = mesh.run()
    render_report(built)
    console.rule("gold: orders.daily_sales_summary (first days)")
    gold = mesh.query(
        "SELECT order_date, orders_count, revenue, round(avg_order_value, 2) AS avg_order_value, unique_customers "
        "FROM orders.daily_sales_summary ORDER BY order_date LIMIT 5"
    )
    render_rows(gold)
    console.rule("catalog search 'orders'")
    for hit in mesh.search("orders", limit=5):
        console.print(f"  [bold]{esc(hit.product_id)}[/] ({esc(hit.layer)}) {esc(hit.description)}")
    product, (path, _) = "orders.order_events", files["orders.order_events"]
    console.rule(f"contract check {product} (the raw file, before any gate)")
    contract = mesh.workspace.product(product).contract
    assert contract is not None
    result = mesh.check(contract, path)
    console.print(check_table(result))
    console.print(
        f"{result.rows:,} records in {result.seconds:.2f}s ({result.rows_per_second:,.0f}/s); "
        f"{sum(r.violations for r in result.failed):,} violations of {len(result.failed)} rules"
    )
    silver = "orders.analytics_orders"
    console.rule(f"quality check {silver} (the published table)")
    quality = mesh.quality.check(silver)
    console.print(quality_table(quality, show_passed=False))
    console.print(
        f"{quality.rows:,} rows, {len(quality.results)} checks in one scan in {quality.seconds:.2f}s. "
        f"[dim]{metrics_line(quality.metrics)}[/]"
    )
    held = mesh.quality.quarantine(silver, limit=3)
    if held.num_rows:
        console.rule(f"quarantine of {silver} (newest 3)")
        render_rows(held.select(["order_id", "status", "total_amount", "_quarantine_reason"]))
    console.rule("governance check")
    policies = mesh.workspace.mesh.governance.policies
    violations = mesh.governance.check()
    mark = "[green]✓[/]" if not violations else "[yellow]![/]"
    names = esc(", ".join(p.name for p in policies))
    console.print(f"{mark} {len(policies)} policies ({names}): {len(violations)} violations", soft_wrap=True)
    _governed(mesh)
    revenue = "orders.daily_sales_summary.revenue"
    console.rule(f"lineage: where {revenue} comes from (derived from the SQL; OpenLineage events in .lakemesh/lineage)")
    from lakemesh.cli.command_lineage import lineage_tree
    from lakemesh.lineage.model import Direction

    console.print(lineage_tree(mesh.lineage.graph(revenue, Direction.UPSTREAM)))
    console.rule()
    console.print(f"done in {time.perf_counter() - started:.1f}s. Try next:")
    for cmd in (
        "validate",
        "catalog search customers --tag pii",
        "catalog show orders.analytics_orders",
        "history orders.analytics_orders",
        "query 'SELECT status, count(*) FROM orders.analytics_orders GROUP BY 1'",
        "quality check orders.analytics_orders",
        "quality quarantine orders.analytics_orders",
        "quality history orders.analytics_orders",
        "governance check",
        "lineage customers.customer_profiles.email --downstream",
        "lineage orders.analytics_orders --format svg > orders.svg",
        "governance classify customers.customer_profiles",
        "query --as carl@company.com 'SELECT * FROM customers.customer_profiles LIMIT 5'",
        "forget --subject customer_id=C000042 --dry-run",
        "contract export orders.analytics_orders --format sql-ddl --dialect postgres",
        f"contract check orders.order_events {files['orders.order_events'][0]}",
    ):
        console.print(f"  lakemesh -w {target} {cmd}", markup=False)


def _governed(mesh: Mesh) -> None:
    """Encryption at rest, a governed query and an erasure plan, on the customer profiles."""
    profiles = "customers.customer_profiles"
    stored = mesh.lakehouse.table(profiles).to_pyarrow_table(columns=["customer_id", "email"]).slice(0, 1)
    console.rule(f"encryption at rest: {profiles} as stored, and as ana@company.com (analyst, EMEA) sees it")
    render_rows(stored)
    seen = mesh.query(
        f"SELECT customer_id, full_name, email, phone, date_of_birth, region FROM {profiles} LIMIT 3",
        principal="ana@company.com",
    )
    render_rows(seen)
    console.rule("lakemesh forget --subject customer_id=C000042 --dry-run")
    render_erasure(mesh.governance.forget(["customer_id=C000042"], dry_run=True))

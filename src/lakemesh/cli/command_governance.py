"""`lakemesh governance check`: policies as code, global and per domain, against specs and data."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, esc, plain, print_json, styled

if TYPE_CHECKING:
    from lakemesh.governance.encryption_plan import EncryptionPlan

app = typer.Typer(help="Federated governance: check products against the mesh's and domains' policies.",
                  no_args_is_help=True)  # fmt: skip

STYLE = {"critical": "red bold", "high": "red", "medium": "yellow"}
RANK = {"medium": 0, "high": 1, "critical": 2}


@app.command()
def check(
    ctx: typer.Context,
    products: list[str] | None = typer.Argument(None, help="Products to check (default: all)."),
    data: bool = typer.Option(False, "--data", help="Also run the `sql` policies against the tables."),
    fail_on: str = typer.Option(
        "critical", "--fail-on", help="Exit 1 at this severity or above: critical, high, medium."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every policy violation, by severity. Critical violations also block `lakemesh run` of the product."""
    if fail_on not in RANK:
        raise typer.BadParameter("use critical, high or medium", param_hint="--fail-on")
    violations = open_mesh(ctx).governance.check(products or None, data=data)
    if as_json:
        print_json(violations)
    elif not violations:
        console.print("[green]✓[/] no policy violations")
    else:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("severity", "product", "policy", "violation", "declared in"):
            table.add_column(name, overflow="fold")
        for v in violations:
            sev = v.severity.value
            table.add_row(
                styled(sev, STYLE[sev]), plain(v.product_id), plain(v.policy), plain(v.message), plain(v.source)
            )
        console.print(table)
        counts = {s: sum(v.severity.value == s for v in violations) for s in ("critical", "high", "medium")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items()) + " violations")
    if any(RANK[v.severity.value] >= RANK[fail_on] for v in violations):
        raise typer.Exit(1)


@app.command()
def classify(
    ctx: typer.Context,
    product: str = typer.Argument(..., help="The product whose untagged columns to classify."),
    sample: int = typer.Option(1000, "--sample", min=1, help="Rows sampled from the product's table."),
    write: bool = typer.Option(False, "--write", help="Add the proposed tags and classifications to the contract."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Propose PII tags for untagged columns from their names and sampled values (nothing changes without --write)."""
    from lakemesh.governance.classify import classify as run_classify
    from lakemesh.governance.classify import write_proposals

    mesh = open_mesh(ctx)
    entry = mesh.workspace.product(product)
    proposals = run_classify(entry, mesh.lakehouse, sample)
    if as_json:
        print_json(proposals)
    elif not proposals:
        console.print(f"{entry.id}: no PII found in untagged columns", markup=False)
    else:
        table = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("column", "proposed tags", "classification", "confidence", "by", "examples"):
            table.add_column(name, overflow="fold")
        for p in proposals:
            by = "name and values" if p.by_name and p.examples else "name" if p.by_name else "values"
            cells = (p.column, f"pii, {p.kind}", p.classification, f"{p.confidence:.0%}", by, ", ".join(p.examples))
            table.add_row(*(plain(c) for c in cells))
        console.print(table)
    if write and proposals and entry.contract is not None:
        path = mesh.root / entry.contract.file
        write_proposals(path, proposals)
        console.print(f"{esc(path)}: tags added to {len(proposals)} column(s); review and bump the contract's version")


retention_app = typer.Typer(help="Retention: delete and vacuum rows past each product's retention SLA.",
                            no_args_is_help=True)  # fmt: skip


@retention_app.command("apply")
def retention_apply(
    ctx: typer.Context,
    products: list[str] | None = typer.Argument(None, help="Products (default: all with a retention SLA)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count the rows past retention; change nothing."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete rows older than the contract's `retention` SLA (by its `element` column), then vacuum them away."""
    results = open_mesh(ctx).governance.retention(products or None, dry_run)
    if as_json:
        print_json(results)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("product", "column", "cutoff", "rows" if dry_run else "deleted", "files removed", "note"):
        table.add_column(name, overflow="fold")
    for r in results:
        cutoff = f"{r.cutoff:%Y-%m-%d %H:%M}" if r.cutoff else ""
        files = "" if dry_run or r.skipped else f"{r.files_removed:,}"
        kept = f"kept versions {', '.join(map(str, r.kept_versions))} for tags" if r.kept_versions else None
        note = styled(f"failed: {r.error}", "red") if r.error else plain(r.skipped or kept)
        done = "" if r.skipped or r.error else f"{r.rows:,}"
        table.add_row(plain(r.product_id), plain(r.column), cutoff, done, "" if r.error else files, note)
    console.print(table)
    if dry_run:
        console.print("[dim]dry run: nothing was deleted[/]")
    failed = [r.product_id for r in results if r.error]
    if failed:
        console.print(f"[red]retention failed for {esc(', '.join(failed))}[/]; the other products were processed")
        raise typer.Exit(1)


@app.command()
def encrypt(
    ctx: typer.Context,
    products: list[str] | None = typer.Argument(None, help="Products to rewrite (default: every encrypting one)."),
    rotate: bool = typer.Option(False, "--rotate", help="Make a new mesh key first and re-encrypt with it."),
    retire_old: bool = typer.Option(False, "--retire-old", help="Then destroy the older mesh keys."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be rewritten and purged; change nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation before purging history."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rewrite the stored tables whose PII columns are not sealed as the policies say (clear values,
    an older key, shredded subjects), then purge their history: time travel to before the rewrite is
    gone. Says what it will rewrite and purge and asks first; with nothing to encrypt it changes nothing.
    With --rotate, every table is re-encrypted under a new key."""
    mesh = open_mesh(ctx)
    plan = mesh.governance.encryption_plan(products or None, rotate)
    if as_json and dry_run:
        print_json(plan)
        return
    if not as_json:
        _render_plan(plan)
    if dry_run:
        console.print("[dim]dry run: nothing was changed[/]")
        return
    if plan.empty and not rotate and not retire_old:
        if as_json:
            from lakemesh.governance.encryption_plan import EncryptionResult

            print_json(EncryptionResult(key=plan.key, plan=plan))
        return
    if retire_old and not as_json:
        console.print("[yellow]![/] --retire-old then destroys the older mesh keys: what they sealed, in any copy "
                      "or backup, can never be read again")  # fmt: skip
    if not plan.empty or retire_old:
        _confirm(yes, f"rewrite {len(plan.tables)} table(s), purge their history" + (" and destroy the older keys"
                 if retire_old else ""))  # fmt: skip
    result = mesh.governance.encrypt(products or None, rotate, retire_old, plan=plan)
    if as_json:
        print_json(result)
        return
    for table_id, rows in result.tables.items():
        console.print(f"{table_id}: {rows:,} rows re-encrypted", markup=False)
    destroyed = f"; destroyed {', '.join(result.retired)}" if result.retired else ""
    console.print(f"active mesh key {result.key}{destroyed}", markup=False)


def _render_plan(plan: EncryptionPlan) -> None:
    if plan.empty:
        console.print("nothing to encrypt: every protected value is sealed under the active key")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("table", "why", "rows rewritten", "files replaced", "history purged"):
        table.add_column(name, overflow="fold")
    for t in plan.tables:
        rotation = [f"rotation: all re-encrypted under a new key (now {plan.key})"] if plan.rotate else []
        why = "; ".join(t.reasons + rotation)
        purged = f"versions {t.versions[0]}-{t.versions[-1]}" if t.versions else ""
        table.add_row(plain(t.table_id), plain(why), f"{t.rows:,}", f"{t.files:,}", purged)
    console.print(table)
    console.print(
        "[yellow]![/] the purge removes every older version of these tables: time travel to before the "
        "rewrite, and the change feed of those versions, are gone for good"
    )


def _confirm(yes: bool, what: str) -> None:
    """Go ahead with `--yes` or a yes on a terminal; refuse anywhere else (a script, a pipe)."""
    if yes:
        return
    if not sys.stdin.isatty():
        from lakemesh.governance.encryption import EncryptionError

        raise EncryptionError(f"refusing to {what} without confirmation", "review it with --dry-run, then add --yes")
    if not typer.confirm(f"{what[0].upper()}{what[1:]}?", default=False):
        raise typer.Exit(1)


@app.command()
def keys(ctx: typer.Context) -> None:
    """The mesh's encryption keys in the key store (ids and ages only; key material is never shown)."""
    mesh = open_mesh(ctx)
    encryptor = mesh.encryptor
    if encryptor is None:
        console.print("no pii_protection policy encrypts any column: no keys in use")
        return
    active = encryptor.store.active()
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("key", "created", "status"):
        table.add_column(name)
    for key in encryptor.store.mesh_keys():
        table.add_row(plain(key["id"]), plain(key["created"][:19]), "active" if key["id"] == active else "readable")
    console.print(table)
    console.print(f"key store: {encryptor.store.path}", markup=False)

"""`lakemesh tag create|list|show|diff|delete|export|log` and `lakemesh diff A B`: the mesh's history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from lakemesh.cli.common import open_mesh
from lakemesh.cli.render import console, esc, plain, print_json, to_json

if TYPE_CHECKING:
    from lakemesh.catalog import MeshTag
    from lakemesh.mesh.versions import MeshDiff, MeshPoint

app = typer.Typer(
    help="Mesh versions and tags: name a consistent point of every product, read it, export it.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The tag's name (letters, digits, '.', '_', '-')."),
    message: str | None = typer.Option(None, "--message", "-m", help="Why this point matters."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Name the current mesh version (metadata only: nothing is copied)."""
    tag = open_mesh(ctx).versions.tag(name, message)
    if as_json:
        print_json(tag)
        return
    console.print(f"[green]tagged[/] mesh version {tag.mesh_version} as {esc(tag.name)}")


@app.command("list")
def list_tags(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every tag: its mesh version, when, by whom, and whether an erasure broke it."""
    tags = open_mesh(ctx).versions.tags()
    if as_json:
        print_json(tags)
        return
    if not tags:
        console.print("no tags yet: `lakemesh tag create NAME`")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("tag", "mesh version", "created", "by", "message"):
        table.add_column(name, overflow="fold")
    for tag in tags:
        table.add_row(plain(tag.name), str(tag.mesh_version), f"{tag.created_at:%Y-%m-%d %H:%M:%S}",
                      plain(tag.actor), plain(_note(tag)))  # fmt: skip
    console.print(table)


def _note(tag: MeshTag) -> str:
    erased = f"[erased through by mesh version {tag.erased_through}] " if tag.erased_through is not None else ""
    return erased + (tag.message or "")


@app.command("show")
def show(ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A tag and the table version of every product it pins."""
    tag, point = open_mesh(ctx).versions.show(name)
    if as_json:
        print_json(point)
        return
    console.print(f"tag {esc(tag.name)}: mesh version {tag.mesh_version}, {esc(_note(tag))}".rstrip(", "))
    _point_table(point)


def _point_table(point: MeshPoint) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("product")
    table.add_column("table version", justify="right")
    for pid, version in sorted(point.tables.items()):
        table.add_row(plain(pid), str(version))
    console.print(table)


@app.command("diff")
def tag_diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="A tag or mesh version."),
    b: str = typer.Argument(..., help="A tag or mesh version."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per product, rows added, changed and removed from A to B."""
    diff(ctx, a, b, as_json)


@app.command("delete")
def delete(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Remove a tag; the files only it kept become vacuum's to delete."""
    tag = open_mesh(ctx).versions.delete(name)
    console.print(f"[green]deleted[/] tag {esc(tag.name)} (mesh version {tag.mesh_version})")


@app.command("export")
def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A tag or mesh version."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the manifest here (default: stdout)."),
) -> None:
    """A manifest (JSON) of each table's version and data files, for delta-rs, DuckDB or Spark."""
    manifest = open_mesh(ctx).versions.manifest(ref)
    if output is None:
        print_json(manifest)
        return
    output.write_text(to_json(manifest) + "\n", encoding="utf-8")
    console.print(f"wrote the manifest of {len(manifest.tables)} tables to {esc(output)}")


@app.command("log")
def log(
    ctx: typer.Context, limit: int = typer.Option(20, "--limit"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """Mesh versions, newest first: which action published each and the table versions it moved."""
    records = open_mesh(ctx).versions.history(limit)
    if as_json:
        print_json(records)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("mesh version", "published", "action", "by", "tables"):
        table.add_column(name, overflow="fold")
    for r in records:
        moved = ", ".join(f"{p}={v}" for p, v in sorted(r.tables.items()))
        table.add_row(str(r.id), f"{r.published_at:%Y-%m-%d %H:%M:%S}", plain(r.action), plain(r.actor), plain(moved))
    console.print(table)


def diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="A tag or mesh version."),
    b: str = typer.Argument(..., help="A tag or mesh version."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per product, rows added, changed and removed between two points of the mesh."""
    result = open_mesh(ctx).versions.diff(a, b)
    if as_json:
        print_json(result)
        return
    _diff_table(result)


def _diff_table(result: MeshDiff) -> None:
    if not result.products:
        before, after = result.before.mesh_version, result.after.mesh_version
        console.print(f"no product differs between mesh versions {before} and {after}")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("product", "versions", "added", "changed", "removed", "by"):
        table.add_column(name, justify="left" if name in ("product", "by") else "right")
    for p in result.products:
        versions = f"{'-' if p.before is None else p.before} -> {'-' if p.after is None else p.after}"
        keyed = ", ".join(p.keyed_by) or "whole rows"
        table.add_row(plain(p.product_id), versions, f"{p.added:,}", f"{p.changed:,}", f"{p.removed:,}", plain(keyed))
    console.print(table)

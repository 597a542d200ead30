"""The DuckDB engine behind the protocol: its errors are `EngineError`s, capabilities decide what callers
may ask of it, and the registry imports duckdb only when an engine is made."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakemesh.engines import EngineCapabilities, EngineError, FileFormat, make_engine, register_revealed
from lakemesh.engines.base import ENGINE_HINT
from lakemesh.engines.duckdb.engine import DuckDBEngine
from lakemesh.errors import LakemeshError
from lakemesh.lakehouse.base import ParquetScan


def test_every_entry_point_raises_engine_errors_not_duckdbs(tmp_path: Path) -> None:
    engine = make_engine("duckdb")
    bad = tmp_path / "bad.csv"
    bad.write_text("a\n1\nx\n")
    queries = [  # about their SQL: no hint
        lambda: engine.query("SELECT nope FROM range(1)"),
        lambda: engine.columns("SELEC 1"),
    ]
    statements = [  # reading tables or files: the hint points at `lakemesh doctor`
        lambda: engine.execute("CREATE TABLE"),
        lambda: engine.rows(f"SELECT * FROM read_csv('{bad}', columns = {{'a': 'INTEGER'}}, header = true)"),
        lambda: engine.records("SELECT CAST('x' AS INTEGER)"),
        lambda: engine.attach("t", "not arrow data"),
    ]
    for calls, hint in ((queries, None), (statements, ENGINE_HINT)):
        for call in calls:
            with pytest.raises(EngineError) as caught:
                call()
            assert isinstance(caught.value, LakemeshError)
            assert caught.value.hint == hint
            assert "\n" not in caught.value.message  # one line for the CLI, the whole text kept as detail
            assert caught.value.detail.startswith(caught.value.message)
    engine.close()


def test_attached_arrow_data_is_queried_by_plain_name() -> None:
    engine = make_engine()
    engine.attach("events", pa.table({"k": [1, 2, 2], "v": ["a", "b", "c"]}))
    assert engine.rows("SELECT k, count(*) FROM events GROUP BY k ORDER BY k") == [(1, 1), (2, 2)]
    assert engine.records("SELECT max(v) AS top FROM events") == [{"top": "c"}]
    engine.close()


class PlainDuckDB(DuckDBEngine):
    """DuckDB declaring no star modifiers: how an engine without them (Spark SQL's dialects) looks to callers."""

    capabilities = EngineCapabilities(dialect="duckdb", star_modifiers=False, arrow_udfs=True, reads_parquet_files=True)


def test_retyping_needs_star_modifiers_and_says_so() -> None:
    data = pa.table({"id": [1], "opens": ["12:30:00"]})
    engine = DuckDBEngine()
    register_revealed(engine, "shop.visits", data, None, retyped={"opens": "TIME"})
    assert str(engine.query("SELECT opens FROM shop.visits").schema.field("opens").type) == "time64[us]"
    plain = PlainDuckDB()
    with pytest.raises(EngineError, match="no SELECT star modifiers"):
        register_revealed(plain, "shop.visits", data, None, retyped={"opens": "TIME"})
    register_revealed(plain, "shop.visits", data, None)  # nothing to rewrite: registered as it is
    assert plain.rows("SELECT opens FROM shop.visits") == [("12:30:00",)]


def test_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(LakemeshError) as caught:
        make_engine("spark")
    assert caught.value.hint == "use one of duckdb"


def test_the_registry_imports_duckdb_only_when_an_engine_is_made() -> None:
    heavy = "[m for m in ('duckdb', 'deltalake', 'pyarrow.dataset') if m in sys.modules]"
    code = (
        "import sys, lakemesh.engines, lakemesh.quality.contract_check, lakemesh.synthetic\n"
        f"print({heavy})\n"
        "lakemesh.engines.make_engine()\n"
        f"print({heavy})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "['duckdb']"]


def test_duckdbs_declared_capabilities_are_what_callers_rely_on(tmp_path: Path) -> None:
    """Each capability DuckDB declares is exercised the way its callers use it: a declaration that is not
    true of the engine fails here, not in a user's run."""
    engine = DuckDBEngine()
    caps = engine.capabilities
    assert caps == EngineCapabilities(
        dialect="duckdb",
        star_modifiers=True,
        arrow_udfs=True,
        reads_parquet_files=True,
        file_formats=frozenset(FileFormat),
        numbered_reads=True,
        struct_lists=True,
        try_cast=True,
        strptime=True,
        json_valid=True,
    )
    assert engine.dialect == caps.dialect
    engine.attach("t", pa.table({"k": ["a", "a", "b"], "v": ["1", "x", '{"j": 1}'], "_event": [1, 2, 3]}))
    # star modifiers (`star_except`: the CDC misfits, masked and decrypted registrations)
    assert engine.columns(f"SELECT {engine.star_except(['_event'])} FROM t") == ["k", "v"]
    # try_cast (the contract check's and bronze's type rules), strptime and json_valid (GX plans)
    typed = engine.rows(
        "SELECT count(TRY_CAST(v AS INTEGER)), count(TRY_STRPTIME(v, '%Y')), count_if(JSON_VALID(v)) FROM t"
    )
    assert typed == [(1, 1, 2)]  # '1' casts and is a year (of %Y); it and the object are valid JSON
    # struct lists from a scalar subquery (examples of repeated keys found in the quality scan itself)
    found = engine.rows("SELECT (SELECT ARRAY_AGG(x) FROM (SELECT {'k': k, 'copies': 2} AS x FROM t WHERE k = 'a'))")
    assert found == [([{"k": "a", "copies": 2}, {"k": "a", "copies": 2}],)]
    # arrow UDFs (governance's decrypting functions)
    engine.function("shout", lambda a: pc.utf8_upper(a), 1)
    assert engine.rows("SELECT shout(k) FROM t ORDER BY 1 LIMIT 1") == [("A",)]
    # plain Parquet files registered by DuckDB's own reader, and every file format read with numbers
    path = str(tmp_path / "p.parquet")
    engine.copy_to("SELECT k, v FROM t", path, FileFormat.PARQUET)
    engine.register("shop.p", ParquetScan((path,), pa.schema([("k", pa.string()), ("v", pa.string())])))
    assert engine.rows("SELECT count(*) FROM shop.p") == [(3,)]
    assert engine.rows(f"SELECT max(n) FROM {engine.read_parquet([path], numbered='n')}") == [(3,)]
    engine.close()

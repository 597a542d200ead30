"""The Great Expectations anchor, run by `bench.quality` with the interpreter of a venv holding GX 1.x.

Reads the Parquet files of the Delta table's current version into pandas (GX's pandas engine needs a
DataFrame; decimals as float64, GX's fast path), validates the design document's five expectations, and
prints one JSON line: seconds to load, seconds to validate, peak RSS and each expectation's unexpected
count. Imports nothing of lakemesh.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(files: list[str]) -> None:
    import great_expectations as gx
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    frames = []
    for f in files:
        table = pq.read_table(f)
        for i, field in enumerate(table.schema):
            if pa.types.is_decimal(field.type):  # float64: GX's fast path (Decimal objects are 4x slower)
                table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        frames.append(table.to_pandas())
    frame = pd.concat(frames, ignore_index=True)
    loaded = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("orders")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name="design_document")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="order_id"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="order_id"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="total_amount", min_value=0, max_value=100000)
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="status", value_set=["created", "paid", "shipped", "delivered", "cancelled"]
        )
    )
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"))
    result = batch.validate(suite, result_format="SUMMARY")
    done = time.perf_counter()
    counts = {}
    for r in result.results:
        config = r.expectation_config
        counts[f"{config.type}:{config.kwargs['column']}"] = r.result.get("unexpected_count")
    print(
        json.dumps(
            {
                "load_seconds": loaded - started,
                "validate_seconds": done - loaded,
                "seconds": done - started,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "counts": counts,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])

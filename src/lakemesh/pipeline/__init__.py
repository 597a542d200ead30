"""Pipelines: the product graph built into Delta tables, incrementally, one commit per product.

The runner lives in `pipeline.runner`; this package exports only the results, which load nothing heavy.
"""

from lakemesh.pipeline.results import ProductRun, RunReport, RunStatus

__all__ = ["ProductRun", "RunReport", "RunStatus"]

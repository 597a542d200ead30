"""Pipelines: the product graph built into Delta tables, incrementally, one commit per product."""

from lakemesh.pipeline.results import ProductRun, RunReport, RunStatus
from lakemesh.pipeline.runner import PipelineRunner

__all__ = ["PipelineRunner", "ProductRun", "RunReport", "RunStatus"]

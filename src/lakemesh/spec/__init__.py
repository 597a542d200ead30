"""Workspace and contract specs: pydantic models, ODCS v3 contracts, loading, diffing (reads files, writes none)."""

from lakemesh.spec.models import DomainSpec, Layer, MeshSpec, ProductSpec
from lakemesh.spec.odcs import Column, Contract, Table, load_contract
from lakemesh.spec.problems import Problem, Severity

__all__ = [
    "Column",
    "Contract",
    "DomainSpec",
    "Layer",
    "MeshSpec",
    "Problem",
    "ProductSpec",
    "Severity",
    "Table",
    "load_contract",
]

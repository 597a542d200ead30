"""Federated governance: policies as code over specs and data."""

"""Lineage: which columns feed which, derived from the transforms, and the OpenLineage events of runs."""

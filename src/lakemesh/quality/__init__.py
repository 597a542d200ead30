"""Data quality: contract checks compiled to SQL, results as data."""

from lakemesh.quality.contract_check import check_file
from lakemesh.quality.results import CheckReport, CheckStatus, RuleResult

__all__ = ["CheckReport", "CheckStatus", "RuleResult", "check_file"]

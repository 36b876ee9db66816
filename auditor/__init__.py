"""mlops-auditor: evidence-based MLOps maturity audits."""

__version__ = "0.1.0"

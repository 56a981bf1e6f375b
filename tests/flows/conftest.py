"""Flow tests share one Prefect harness and the session's demo study (tests/conftest.py)."""

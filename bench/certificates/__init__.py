"""Benchmark: certificate lookup by holder on a store of 1,000,000 certificates, through
the HTTP API (real uvicorn, PostgreSQL), against a trivial authenticated endpoint of the
same app in the same run. Run: `python -m bench.certificates --help`."""

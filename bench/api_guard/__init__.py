"""Benchmark: what hostile or large request bodies cost the API process (peak memory) and
how responsive `/healthz` stays during a large upload, for two code trees in one run (the
tree before a change and after it). Run: `python -m bench.api_guard --help`."""

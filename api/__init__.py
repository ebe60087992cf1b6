"""The thin outer layer: the HTTP API (FastAPI) and the `docintake` command line."""

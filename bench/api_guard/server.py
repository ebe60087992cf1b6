"""The app under measurement, started as a script with PYTHONPATH set to the code tree to
measure, so it only uses what both trees have: `create_app`, `Runtime`, `create_api_key`.
Batches are recorded, not processed. Writes the clerk key to argv[2]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from intake.runtime import Runtime
from intake.settings import load_settings
from storage.apikeys import create_api_key


class _NoRunner:
    def submit_batch(self, batch_id: str) -> None:
        pass

    def submit_files(self, batch_id: str) -> None:
        pass

    def shutdown(self) -> None:
        pass


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    settings = load_settings(data_dir=out.parent / "data", task_mode="inline")
    runtime = Runtime.from_settings(settings)
    with runtime.database.session() as session:
        key = create_api_key(session, role="clerk", name="bench")[1]
    app = create_app(runtime, runner=_NoRunner())
    out.write_text(json.dumps({"key": key}))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

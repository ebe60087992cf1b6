"""The one place bench/rules imports the demo's sample renderers from (people, ID cards,
licences, leases, the flowing-text layout, scanner degradation), including the few
layout helpers `samples` keeps private."""

from __future__ import annotations

import samples
from samples.documents import _cn_date as cn_date
from samples.documents import _flow_document as flow_document
from samples.documents import _table as table

__all__ = ["cn_date", "flow_document", "samples", "table"]

"""Reports ct writes beside the pipeline's data (Evidently's drift report), each whole or not at
all."""

from __future__ import annotations

from typing import Any

from ct_assets.ingest.files import Location, write_object


def save_report(snapshot: Any, path: Location) -> Location:
    """Evidently's HTML report, written whole or not at all."""
    return write_object(path, snapshot.get_html_str(as_iframe=False).encode())

"""The file drop: a landing folder (local or S3) producers drop files into, read by the
`raw_batches` asset itself. The pulled sources (SQL, a Redis stream, an HTTP API) are a registry
in `resources/pulled/`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import fsspec

from ct_assets.ingest.landing import LandedFile, in_folders, is_ready
from ct_assets.names import FILE_DROP
from resources.storage import Delivery


class SourceError(Exception):
    """A source cannot be read; the message names the source, the endpoint and why."""


class FileDropSource(dg.ConfigurableResource):
    """A landing folder producers drop CSV, Parquet or JSON Lines (optionally gzip) into.

    `url` is a local folder or `s3://bucket/prefix`; both are read through fsspec, so the same
    code path serves both. S3 credentials come from the usual AWS_* environment variables.
    """

    url: str
    endpoint_url: str | None = None
    # Folders of the landing folder that are not data (delayed labels), relative to `url`.
    skip_folders: list[str] = []

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        options: dict[str, Any] = {}
        if self.url.startswith("s3://"):
            # Listings are re-read every time: a cached listing would hide new drops. The
            # filesystem itself is fsspec's cached instance: a new S3 client per file read
            # cost ~0.2 s of CPU each.
            options = {"use_listings_cache": False}
            if self.endpoint_url:
                options["endpoint_url"] = self.endpoint_url
        return fsspec.core.url_to_fs(self.url, **options)

    def files(self) -> list[LandedFile]:
        """Files ready for ingestion: complete (no hidden or temporary name), known format."""
        fs, root = self._fs()
        try:
            # A missing folder or prefix lists as empty (one request on S3, not three).
            listed = fs.find(root, detail=True)
        except FileNotFoundError:
            return []
        found = []
        for path, info in sorted(listed.items()):
            name = path.rsplit("/", 1)[-1]
            if info.get("type") != "file" or not is_ready(name):
                continue
            if in_folders(path, root, self.skip_folders):
                continue
            found.append(_landed(fs, path, info))
        return found

    def delivery(self, landed: LandedFile) -> Delivery:
        fs, _ = self._fs()
        return Delivery(
            data=fs.cat_file(landed.path),
            file_name=landed.name,
            source=FILE_DROP,
            source_ref=landed.path,
            arrived_at=landed.arrived_at,
        )


def _landed(fs: fsspec.AbstractFileSystem, path: str, info: dict[str, Any]) -> LandedFile:
    local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
    if local:
        arrived = datetime.fromtimestamp(info["mtime"], UTC)
        return LandedFile(path, int(info["size"]), str(info["mtime"]), arrived)
    modified = info.get("LastModified")
    arrived = modified if isinstance(modified, datetime) else datetime.now(UTC)
    version = info.get("ETag") or str(modified)
    return LandedFile(fs.unstrip_protocol(path), int(info["size"]), str(version), arrived)

"""`sources.sql`: a SQL table with an incremental watermark."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from ct_assets.project.spec import ProjectSpec
from ct_assets.project.spec.sources import SqlSection
from resources.pulled import register
from resources.pulled.base import Pulled, PulledKind, stamp
from resources.sources import SourceError


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, pd.Timestamp | datetime):
        return {"type": "datetime", "value": pd.Timestamp(value).isoformat()}
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return {"type": type(value).__name__, "value": value}


def _decode(encoded: dict[str, Any]) -> Any:
    if encoded["type"] == "datetime":
        return pd.Timestamp(encoded["value"]).to_pydatetime()
    return encoded["value"]


# The section's own defaults (ct.yaml's `sources.sql`): one place for them.
_DECLARED = SqlSection()


class SqlTableSource(dg.ConfigurableResource):
    """A table that grows: rows past the (watermark, key) of the last landed batch are new.

    The key breaks ties between rows sharing a watermark value, so a batch boundary inside such a
    tie loses nothing. Rows committed later with a watermark below the recorded one are not seen:
    the watermark column should be set by the database at commit (an insert time or sequence).
    """

    name: str = "sql_table"
    url: str
    table: str = _DECLARED.table
    watermark_column: str = _DECLARED.watermark_column
    key_column: str
    columns: list[str] | None = None
    batch_rows: int = _DECLARED.batch_rows

    def _where(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def pull(self, progress: dict[str, Any]) -> Pulled | None:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                table = sa.Table(self.table, sa.MetaData(), autoload_with=conn)
                frame = pd.read_sql(self._query(table, progress), conn)
        except sa.exc.NoSuchTableError as exc:
            raise SourceError(
                f"{self.name}: table {self.table!r} not found at {self._where()}"
            ) from exc
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(
                f"{self.name}: cannot read {self.table!r} at {self._where()}: {exc}"
            ) from exc
        finally:
            engine.dispose()
        if frame.empty:
            return None
        last = frame.iloc[-1]
        reached = {"watermark": _encode(last["_ct_watermark"]), "key": _encode(last["_ct_key"])}
        data = frame.drop(columns=["_ct_watermark", "_ct_key"])
        buffer = io.BytesIO()
        data.to_parquet(buffer, index=False)
        return Pulled(
            data=buffer.getvalue(),
            file_name=f"{self.table}_{stamp()}.parquet",
            rows=len(data),
            progress=reached,
            ref=f"{self._where()}#{self.table}",
            details={
                "table": self.table,
                "watermark_column": self.watermark_column,
                "from": progress or None,
                "to": reached,
            },
        )

    def _query(self, table: sa.Table, progress: dict[str, Any]) -> sa.Select:
        missing = {self.watermark_column, self.key_column, *(self.columns or [])} - set(
            table.c.keys()
        )
        if missing:
            raise SourceError(
                f"{self.name}: table {self.table!r} has no column(s) {sorted(missing)}; "
                f"it has {sorted(table.c.keys())}"
            )
        watermark, key = table.c[self.watermark_column], table.c[self.key_column]
        selected = [table.c[c] for c in self.columns] if self.columns else list(table.c)
        query = sa.select(*selected, watermark.label("_ct_watermark"), key.label("_ct_key"))
        if progress:
            mark, last_key = _decode(progress["watermark"]), _decode(progress["key"])
            query = query.where(
                sa.or_(watermark > mark, sa.and_(watermark == mark, key > last_key))
            )
        return query.order_by(watermark, key).limit(self.batch_rows)


def build(section: Any, spec: ProjectSpec, endpoint: Callable[[str | None], str | None]) -> Any:
    key = section.key_column or spec.dataset.event_id
    assert key is not None  # the project refuses a SQL source with no key
    return SqlTableSource(
        url=dg.EnvVar(section.url_env),
        table=section.table,
        watermark_column=section.watermark_column,
        key_column=key,
        columns=section.columns,
        batch_rows=section.batch_rows,
    )


register(PulledKind("sql_table", build))

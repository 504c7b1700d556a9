"""Monitoring: how the serving models do on labels they never saw, per partition and overall.

`champion_performance` is prequential ("test then train"): each new labeled partition is scored
by the champion as it stands before that partition's own retrain (training_window depends on
it, so in one run it always goes first). `served_performance` joins the predictions serving
logged to the delayed labels that came back. `live_performance` puts both side by side per
model version, beside each version's holdout baseline.
"""

from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from ct_assets.ml.feature_spec import FeatureSetMismatch
from ct_assets.ml.frames import FEATURE_SET, LABEL
from ct_assets.ml.live import NAN, NONE, ChampionScore, is_baking, measured, unscored
from ct_assets.names import (
    CHAMPION_PERFORMANCE,
    LIVE_PERFORMANCE,
    SERVED_PERFORMANCE,
)
from ct_assets.policy import AC, RETRY, after_upstream, stage_asset
from ct_assets.project.load import Project
from ct_assets.project.spec import ProjectSpec
from resources.mlflow_registry import MlflowRegistry
from resources.storage import ArtifactStore


def materializations(instance: dg.DagsterInstance, asset: str) -> list[dg.EventLogRecord]:
    """Every materialization of an asset, newest first, read in pages (the store caps a page)."""
    out: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(dg.AssetKey(asset), limit=1000, cursor=cursor)
        out.extend(page.records)
        if not page.has_more:
            return out
        cursor = page.cursor


def scored_records(instance: dg.DagsterInstance) -> list[tuple[str, str, float]]:
    """(partition, champion version, timestamp) of every champion_performance materialization."""
    out = []
    for record in materializations(instance, CHAMPION_PERFORMANCE):
        event = record.asset_materialization
        if event is None or event.partition is None:
            continue
        version = event.metadata.get("champion_version")
        out.append((event.partition, str(version.value if version else NONE), record.timestamp))
    return out


def latest_figures(instance: dg.DagsterInstance, asset: str) -> dict[str, dict[str, Any]]:
    """partition -> metadata of its newest materialization, as plain values."""
    out: dict[str, dict[str, Any]] = {}
    for record in materializations(instance, asset):
        event = record.asset_materialization
        if event is None or event.partition is None or event.partition in out:
            continue
        out[event.partition] = {k: v.value for k, v in event.metadata.items()}
    return out


def baseline_of(mlflow: MlflowRegistry, version: str, metric: str) -> float:
    """The version's holdout metric, as its evaluation logged it in its MLflow run."""
    client = mlflow.client()
    run_id = client.get_model_version(mlflow.registered_model, version).run_id
    if not run_id:
        return NAN
    value = client.get_run(run_id).data.metrics.get(f"holdout_{metric}")
    return NAN if value is None else float(value)


def predicted_by(
    context: dg.AssetExecutionContext, mlflow: MlflowRegistry, version: str, rows: pd.DataFrame
) -> np.ndarray | None:
    """A version's predictions of the rows; None when it cannot read these features."""
    from ct_assets.ml.training import predict

    try:
        family, model = mlflow.load_for(version, str(rows[FEATURE_SET].iloc[0]))
    except FeatureSetMismatch as exc:
        context.log.warning(str(exc))
        return None
    return predict(family, model, rows)


def slices_markdown(spec: ProjectSpec, rows: pd.DataFrame, predicted: np.ndarray) -> str:
    from ct_assets.ml.evaluation import slice_metrics

    table = slice_metrics(
        rows,
        rows[LABEL].to_numpy(),
        predicted,
        spec.slice_columns,
        spec.gates.slices.min_rows,
        spec.metric,
    )
    return pd.DataFrame(table).to_markdown(index=False) if table else "no slices declared"


def build_performance(
    project: Project, partitions: dg.TimeWindowPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    spec = project.spec
    metric = spec.metric
    baking_partitions = spec.policy.rollback.baking.partitions

    @stage_asset(
        CHAMPION_PERFORMANCE,
        group="monitoring",
        partitions=partitions,
        project=spec.name,
        code_version="1",
        kinds={"mlflow"},
        automation=after_upstream(),
        io_manager_key="json_io_manager",
    )
    def champion_performance(
        context: dg.AssetExecutionContext, features: pd.DataFrame, mlflow: MlflowRegistry
    ) -> dg.MaterializeResult[dict[str, Any]]:
        """The champion, before this partition's retrain, scored on its labeled rows."""
        key = context.partition_key
        labels = features[LABEL].to_numpy()
        champion = mlflow.champion_version()
        slices = "not scored"
        predicted = None if champion is None else predicted_by(context, mlflow, champion, features)
        if champion is None or predicted is None:
            # Never a failure: the first retrain must be able to start without a champion.
            why = "no champion yet" if champion is None else "champion reads other features"
            result = unscored(metric, len(features), why)
        else:
            move = mlflow.promotion_of(champion)
            baking = is_baking(
                move, scored_records(context.instance), champion, key, baking_partitions
            )
            previous = str(move["from"]) if baking and move else NONE
            before = None if previous == NONE else predicted_by(context, mlflow, previous, features)
            result = ChampionScore(
                metric=metric,
                rows=len(features),
                champion_version=champion,
                previous_version=str(move["from"]) if move and move.get("from") else NONE,
                baking=baking,
                champion=measured(metric, labels, predicted),
                previous=NAN if before is None else measured(metric, labels, before),
                baseline=baseline_of(mlflow, champion, metric),
            )
            slices = slices_markdown(spec, features, predicted)
        figures = result.figures()
        context.log.info(
            f"champion v{figures['champion_version']} on {key}: {metric} "
            f"{figures[f'champion_{metric}']} (baseline {figures[f'baseline_{metric}']}, "
            f"baking {figures['baking']})"
        )
        return dg.MaterializeResult(
            value={**figures, "partition": key, "note": result.note},
            metadata={
                **figures,
                "note": result.note or "scored",
                "slices": dg.MetadataValue.md(slices),
            },
        )

    @stage_asset(
        SERVED_PERFORMANCE,
        group="monitoring",
        partitions=partitions,
        project=spec.name,
        code_version="1",
        kinds={"parquet"},
        # Requested by the delayed-labels sensor when labels of this partition arrive.
        automation=None,
        io_manager_key="json_io_manager",
    )
    def served_performance(
        context: dg.AssetExecutionContext, artifacts: ArtifactStore
    ) -> dg.MaterializeResult[Any]:
        """Served answers of the partition joined to their delayed labels, per model version."""
        from ct_assets.ml.labels import kept_labels, labels_dir
        from ct_assets.ml.live import join_labels, per_version
        from ct_assets.ml.predictions import ANSWER, read

        key = context.partition_key
        log = read(artifacts.root, [key]).to_pandas()
        answers = log[log["role"] == ANSWER]
        joined = join_labels(answers, kept_labels(labels_dir(artifacts.root), spec))
        versions = per_version(joined, metric)
        routes = per_version(joined, metric, by=("model_version", "route"))
        figures: dict[str, Any] = {"labeled_rows": len(joined)}
        for version, v in versions.items():
            figures[f"v{version}_{metric}"] = v[metric]
            figures[f"v{version}_rows"] = v["rows"]
        return dg.MaterializeResult(
            value={"partition": key, "metric": metric, "versions": versions, "routes": routes},
            metadata={
                **figures,
                "metric": metric,
                "answers": len(answers),
                "versions": dg.MetadataValue.json(versions),
                "routes": dg.MetadataValue.json(routes),
            },
        )

    @dg.asset(
        name=LIVE_PERFORMANCE,
        group_name="monitoring",
        code_version="1",
        kinds={"pandas"},
        # Figures are read from each partition's materialization metadata (cheap); the deps
        # say what it reads and make it refresh when any partition of either updates.
        deps=[
            dg.AssetDep(CHAMPION_PERFORMANCE, partition_mapping=dg.AllPartitionMapping()),
            dg.AssetDep(SERVED_PERFORMANCE, partition_mapping=dg.AllPartitionMapping()),
        ],
        automation_condition=(
            AC.any_deps_updated().since_last_handled() & ~AC.in_progress()
        ).with_label("after_any_performance"),
        retry_policy=RETRY,
        tags={"ct/project": spec.name},
        io_manager_key="json_io_manager",
    )
    def live_performance(context: dg.AssetExecutionContext) -> dg.MaterializeResult[Any]:
        """Per model version: its prequential and served metric per partition, and baseline."""
        from ct_assets.ml.live import live_table

        champion = latest_figures(context.instance, CHAMPION_PERFORMANCE)
        served = {
            p: f.get("versions") or {}
            for p, f in latest_figures(context.instance, SERVED_PERFORMANCE).items()
        }
        table = live_table(champion, served, metric)
        metadata: dict[str, Any] = {
            "metric": metric,
            "versions": ", ".join(dict.fromkeys(table["version"])) if len(table) else "none",
            "partitions": len(champion),
            "served_partitions": len(served),
            "table": dg.MetadataValue.md(
                table.to_markdown(index=False) if len(table) else "nothing scored yet"
            ),
        }
        if len(table):
            metadata["plot"] = dg.MetadataValue.md(live_plot(table, metric))
        return dg.MaterializeResult(
            value={"metric": metric, "rows": table.to_dict(orient="records")}, metadata=metadata
        )

    return [champion_performance, served_performance, live_performance]


def live_plot(table: pd.DataFrame, metric: str) -> str:
    """The metric per partition, a line per version and source, as an inline PNG."""
    from matplotlib.figure import Figure

    from ct_assets.ml.plots import markdown_images, png

    figure = Figure(figsize=(7, 3.5))
    axes = figure.subplots()
    for version, rows in table.groupby("version", sort=False):
        for source, style in (("prequential", "-o"), ("served", "--s")):
            shown = rows[rows[source].notna()]
            if len(shown):
                axes.plot(shown["partition"], shown[source], style, label=f"v{version} {source}")
        base = rows["baseline"].dropna()
        if len(base):
            axes.axhline(float(base.iloc[0]), linestyle=":", linewidth=1, color="grey")
    axes.set_ylabel(metric)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7)
    figure.tight_layout()
    return markdown_images({f"live_{metric}": png(figure)})

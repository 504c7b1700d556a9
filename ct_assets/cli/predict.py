"""`ct predict FILE --out FILE`: score a CSV or Parquet file with a registered model version.

The same code as the pipeline's batch scoring: the file is parsed as ingest parses, validated
against the declared dataset (the label may be absent), turned into features (window features
from the file's own history) and scored by `ml.scoring.score_frame`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ct_assets.cli import command_parser, project_option


def register(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(
        commands,
        "predict",
        summary="score a CSV or Parquet file with a model",
        description="""Score a file of rows with a registered model version (the champion by
        default), by the pipeline's own code: parsed and validated as ingest does (the label
        may be absent), turned into features (window features from the file's own history)
        and scored. Writes the rows with their scores to --out.""",
        examples=["ct predict new_rows.csv --out scored.parquet --version 7"],
    )
    parser.add_argument("file", type=Path, help="the rows to score (CSV or Parquet)")
    parser.add_argument("--out", type=Path, required=True, help="where to write (.csv/.parquet)")
    parser.add_argument("--version", help="the model version (default: the champion)")
    project_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ct_assets.cli.context import definitions_of, project_of, resources_of
    from ct_assets.ingest.files import atomic_write
    from ct_assets.ml.frames import FEATURE_SET
    from ct_assets.ml.scoring import BadInput, input_features, score_frame

    out: Path = args.out
    if out.suffix.lower() not in (".csv", ".parquet"):
        print(f"ct predict: --out {out}: expected a .csv or .parquet name", file=sys.stderr)
        return 1
    if not out.parent.is_dir():
        # Said before the model is loaded and the rows scored, not after.
        print(f"ct predict: --out {out}: no folder {out.parent}", file=sys.stderr)
        return 1
    if not args.file.is_file():
        print(f"ct predict: {args.file}: no such file", file=sys.stderr)
        return 1
    project = project_of(args)
    try:
        features = input_features(
            args.file.read_bytes(), args.file.name, project.spec, project.locate
        )
    except BadInput as exc:
        print(f"ct predict: {exc}", file=sys.stderr)
        return 1
    with resources_of(project, definitions_of(project), "mlflow") as res:
        version = args.version or res.mlflow.champion_version()
        if version is None:
            print("ct predict: no champion yet; name a version with --version", file=sys.stderr)
            return 1
        try:
            family, model = res.mlflow.load_for(version, str(features[FEATURE_SET].iloc[0]))
        except Exception as exc:  # an unknown version, or one trained on other features
            print(f"ct predict: model version {version}: {exc}", file=sys.stderr)
            return 1
    scored = score_frame(family, model, features, version)
    if out.suffix.lower() == ".csv":
        atomic_write(out, lambda tmp: scored.to_csv(tmp, index=False))
    else:
        atomic_write(out, lambda tmp: scored.to_parquet(tmp, index=False))
    print(f"{len(scored)} rows scored by v{version} ({family}) → {out}")
    return 0

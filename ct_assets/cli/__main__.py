"""`python -m ct_assets.cli`: the `ct` command without its entry-point script."""

from ct_assets.cli import main

raise SystemExit(main())

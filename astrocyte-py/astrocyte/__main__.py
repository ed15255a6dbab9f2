"""``python -m astrocyte`` runs the command-line interface."""

from astrocyte.cli import main

raise SystemExit(main())

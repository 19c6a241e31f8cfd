"""Allow ``python -m pmd_cli``."""

from pmd_cli.main import main

raise SystemExit(main())

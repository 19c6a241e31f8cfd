"""Storage: tables, engines and migrations."""

from pmd_domain.db.engine import Database

__all__ = ["Database"]

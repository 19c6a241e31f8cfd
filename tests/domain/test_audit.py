"""The audit log: only the actions it can name, and its entries written for staff."""

from __future__ import annotations

import pytest

from pmd_domain.clock import utcnow
from pmd_domain.consultation import Consultation
from pmd_domain.db import Database
from pmd_domain.i18n import Catalogs
from pmd_domain.services import audit


async def test_the_audit_log_takes_only_the_actions_it_can_name(db: Database) -> None:
    # Each action has a name in the catalogues for the panel's audit table: a new one
    # is added to ``audit.ACTIONS`` (and named) before it is recorded.
    async with db.transaction() as session:
        with pytest.raises(ValueError):
            await audit.record(
                session, actor="cli", action="codes.isue", target="codes:x", now=utcnow()
            )


def test_an_audit_entry_s_details_are_written_for_staff(consultation: Consultation) -> None:
    details = {
        "supports": 12,
        "kind": "s@prop",
        "from": "2026-12-04T00:00:00+00:00",
        "web": True,
        "reason": "Texto ofensivo",
        "unnamed": "x",
    }
    written = audit.describe_details(
        details,
        catalogs=Catalogs.load(),
        zone=consultation.exercise.timezone,
        language="es",
    )
    assert written == (
        "Apoyos: 12 · Tipo: s@prop · Desde: 3 dic 2026, 6:00\u202fp.m. · Solo panel web: sí"
        " · Motivo: Texto ofensivo · unnamed: x"
    )

"""``pmd export`` and ``pmd staff link`` as real subprocesses."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import openpyxl

from pmd_domain.services import analysis
from tests.cli.test_cli import pmd


def test_export_writes_csv_and_xlsx_without_personal_data(tmp_path: Path) -> None:
    path = tmp_path / "pmd.sqlite3"
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    seeded = pmd("demo-data", "--participants", "200", "--seed", "3", env=env)
    assert seeded.returncode == 0, seeded.stderr
    with sqlite3.connect(path) as conn:
        proposals = conn.execute("SELECT count(*) FROM proposals").fetchone()[0]
        chat_ids = {r[0] for r in conn.execute("SELECT external_id FROM participants")}
        postal = {r[0] for r in conn.execute("SELECT postal_code FROM participants") if r[0]}
    assert proposals > 0

    result = pmd("export", "--output", str(tmp_path / "propuestas.csv"), env=env)
    assert result.returncode == 0, result.stderr
    assert f"{proposals} propuestas exportadas" in result.stdout
    text = (tmp_path / "propuestas.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == proposals and tuple(rows[0]) == analysis.EXPORT_COLUMNS
    cells = {value for row in rows for value in row.values()}
    assert not (cells & (chat_ids | postal))

    target = tmp_path / "analisis.datos"
    result = pmd("export", "--format", "xlsx", "--output", str(target), env=env)
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    assert book["Propuestas"].max_row == proposals + 1
    assert book["Participación"].max_row > 10
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_export_errors_are_clear(tmp_path: Path) -> None:
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3"}
    unknown = pmd("export", "--output", str(tmp_path / "x.pdf"), env=env)
    assert unknown.returncode == 2 and "--format csv" in unknown.stderr
    missing = pmd("export", "--output", str(tmp_path / "no" / "x.csv"), env=env)
    assert missing.returncode == 2 and "no existe" in missing.stderr
    for result in (unknown, missing):
        assert "Traceback" not in result.stderr


def test_staff_link_prints_a_one_time_panel_url(tmp_path: Path) -> None:
    env = {
        "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3",
        "PMD_PUBLIC_URL": "https://participa.example.mx/",
        "PMD_SECRET_KEY": "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV",
        "PMD_ADMIN_IDS": "77",
    }
    result = pmd("staff", "link", "77", env=env)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("https://participa.example.mx/panel/entrar/") and len(url) > 80
    stranger = pmd("staff", "link", "12345", env=env)
    assert stranger.returncode == 2 and "no es parte del equipo" in stranger.stderr

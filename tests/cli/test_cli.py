"""The ``pmd`` command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.domain.test_consultation import DEFAULT

ROOT = Path(__file__).parents[2]


def pmd(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, answer: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``pmd`` with a clean environment plus ``env``; ``answer`` is typed at its stdin."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "-m", "pmd_cli", *args],
        cwd=ROOT,
        env={**base, **(env or {})},
        input=answer,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_consultation_check_accepts_the_default_file() -> None:
    result = pmd("consultation", "check", str(DEFAULT))
    assert result.returncode == 0, result.stderr
    assert "válido" in result.stdout and "5 ejes" in result.stdout
    assert "Apoyos que cuentan: phone, verified." in result.stdout


def test_consultation_check_reports_a_bad_integrity_section(tmp_path: Path) -> None:
    broken = tmp_path / "integridad.toml"
    text = DEFAULT.read_text("utf-8").replace(
        'count_levels = ["phone", "verified"]', 'count_levels = ["correo"]'
    )
    broken.write_text(text, "utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "count_levels" in row)
    result = pmd("consultation", "check", str(broken))
    assert result.returncode == 1
    assert f"integridad.toml:{line}: integrity.count_levels[0]: debe ser uno de:" in result.stderr


def test_consultation_check_lists_errors_with_lines(tmp_path: Path) -> None:
    broken = tmp_path / "rota.toml"
    text = DEFAULT.read_text("utf-8").replace("vision_year = 2040", "vision_year = 1900", 1)
    broken.write_text(text.replace('key = "agua"', 'key = "Agua Potable"', 1), "utf-8")
    line_year = next(
        n for n, line in enumerate(broken.read_text().splitlines(), 1) if "vision_year" in line
    )
    result = pmd("consultation", "check", str(broken))
    assert result.returncode == 1
    assert f"rota.toml:{line_year}: exercise.vision_year: es demasiado pequeño" in result.stderr
    assert "pillars[1].topics[0].key: formato no válido" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_get_one_clear_line(tmp_path: Path) -> None:
    result = pmd("serve", env={"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3"})
    assert result.returncode == 2
    assert "PMD_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    result = pmd("staff", "list", env={"PMD_PORT": "no-es-número"})
    assert (
        result.returncode == 2 and "PMD_PORT" in result.stderr and "Traceback" not in result.stderr
    )


def test_malformed_consultation_never_starts_the_service(tmp_path: Path) -> None:
    broken = tmp_path / "rota.toml"
    broken.write_text("[exercise]\nslug = 'x'\n", "utf-8")
    result = pmd(
        "serve",
        env={
            "PMD_ENV": "development",
            "PMD_CONSULTATION": str(broken),
            "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.sqlite3",
        },
    )
    assert result.returncode == 2
    assert "rota.toml" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_staff_and_demo_data(tmp_path: Path) -> None:
    env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3"}
    assert pmd("db", "upgrade", env=env).returncode == 0
    added = pmd("staff", "add", "5551234", "--role", "moderator", "--name", "Lucía", env=env)
    assert added.returncode == 0 and "moderator" in added.stdout
    listed = pmd("staff", "list", env={**env, "PMD_ADMIN_IDS": "77,88"})
    assert "5551234\tmoderator\tLucía" in listed.stdout and "77\tadmin" in listed.stdout
    bad_role = pmd("staff", "add", "1", "--role", "jefe", env=env)
    assert bad_role.returncode == 2 and "«jefe» no es una opción" in bad_role.stderr
    bootstrap = pmd("staff", "remove", "77", env={**env, "PMD_ADMIN_IDS": "77"})
    assert bootstrap.returncode == 2 and "PMD_ADMIN_IDS" in bootstrap.stderr
    first = pmd("demo-data", "--participants", "500", "--seed", "7", env=env)
    assert first.returncode == 0, first.stderr
    assert "500 participantes" in first.stdout
    again = pmd("demo-data", "--participants", "500", "--seed", "7", env=env)
    assert again.returncode == 2 and "semilla 7" in again.stderr


def test_a_web_only_member_gets_a_link_by_e_mail(tmp_path: Path) -> None:
    env = {
        "PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pmd.sqlite3",
        "PMD_PUBLIC_URL": "https://participa.pachuca.gob.mx",
        "PMD_SECRET_KEY": "k3Yq-8vXw_2LmN9pRt4sZa7bCd1eFg6hJ0uV",
    }
    assert pmd("db", "upgrade", env=env).returncode == 0
    added = pmd(
        "staff",
        "add-web",
        "Lucia@Pachuca.gob.mx",
        "--role",
        "moderator",
        "--name",
        "Lucía",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert "lucia@pachuca.gob.mx" in added.stdout and "solo en el panel web" in added.stdout
    listed = pmd("staff", "list", env=env)
    assert "lucia@pachuca.gob.mx\tmoderator\tLucía" in listed.stdout
    link = pmd("staff", "link", "lucia@pachuca.gob.mx", env=env)
    assert link.returncode == 0, link.stderr
    assert link.stdout.startswith("https://participa.pachuca.gob.mx/panel/entrar/")
    unknown = pmd("staff", "link", "nadie@pachuca.gob.mx", env=env)
    assert unknown.returncode == 2 and "nadie@pachuca.gob.mx" in unknown.stderr
    bad = pmd("staff", "add-web", "no-es-correo", "--role", "analyst", env=env)
    assert bad.returncode == 2 and "no es un correo válido" in bad.stderr


@pytest.mark.parametrize("seed", [11])
def test_demo_data_is_reproducible(tmp_path: Path, seed: int) -> None:
    outputs = []
    for name in ("a", "b"):
        env = {"PMD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{name}.sqlite3"}
        result = pmd("demo-data", "--participants", "300", "--seed", str(seed), env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


def test_consultation_init_writes_a_valid_file_with_new_dates(tmp_path: Path) -> None:
    target = tmp_path / "mi-consulta.toml"
    result = pmd(
        "consultation",
        "init",
        str(target),
        "--opens",
        "2026-11-01",
        "--closes",
        "2026-12-31",
        "--slug",
        "mi-municipio-2026",
    )
    assert result.returncode == 0, result.stderr
    text = target.read_text("utf-8")
    assert "opens = 2026-11-01T00:00:00" in text
    assert "closes = 2026-12-31T23:59:59" in text
    assert pmd("consultation", "check", str(target)).returncode == 0
    again = pmd("consultation", "init", str(target))
    assert again.returncode == 2
    assert "ya existe" in again.stderr
    backwards = pmd(
        "consultation",
        "init",
        str(tmp_path / "x.toml"),
        "--opens",
        "2026-12-31",
        "--closes",
        "2026-11-01",
    )
    assert backwards.returncode == 2
    assert "closes debe ser posterior" in backwards.stderr
    assert not (tmp_path / "x.toml").exists()


def test_a_file_that_cannot_be_used_is_told_in_spanish() -> None:
    import errno

    from pmd_cli.common import os_problem

    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/datos/x.csv")
    assert os_problem(missing) == "No se pudo usar el archivo /datos/x.csv: no existe."
    full = OSError(errno.ENOSPC, "No space left on device")
    assert os_problem(full) == "No se pudo usar el archivo: el disco está lleno."

"""Which ``.env`` the settings read: the checkout's, or the one ``PMD_ENV_FILE`` names.

``make run`` keeps its settings in the checkout's ``.env``; the test suite must not
pick them up (a developer runs ``make run`` and then ``make test`` in one checkout).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PRINT_PORT = "from pmd_domain.settings import load_settings; print(load_settings().port)"


def _port(folder: Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))}
    env.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", PRINT_PORT], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_checkouts_env_file_is_read_unless_another_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PMD_PORT=8765\n", encoding="utf-8")
    other = tmp_path / "other.env"
    other.write_text("PMD_PORT=8766\n", encoding="utf-8")
    assert _port(tmp_path) == "8765"
    assert _port(tmp_path, PMD_ENV_FILE=str(other)) == "8766"
    assert _port(tmp_path, PMD_ENV_FILE=str(tmp_path / "missing.env")) != "8765"


def test_the_suite_ignores_a_developers_env_file() -> None:
    named = os.environ.get("PMD_ENV_FILE")
    assert named is not None and not Path(named).exists()
    from pmd_domain.settings import Settings

    assert Settings.model_config.get("env_file") == named

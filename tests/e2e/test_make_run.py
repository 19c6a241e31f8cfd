"""A newcomer's first minutes: a fresh clone, ``make run`` with nothing else set.

The clone gets a virtual environment of its own that reuses the installed libraries of
the one running the tests (a ``.pth`` file) and imports the clone's own code, so the
real Makefile target runs in seconds instead of installing everything again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"(https?://\S+)")


def _clone(target: Path) -> Path:
    clone = target / "participa"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = clone / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    # the clone's code first, then the libraries already installed for the tests
    (site / "00-reuse.pth").write_text(f"{clone}\n{sysconfig.get_paths()['purelib']}\n")
    pmd = venv / "bin" / "pmd"
    pmd.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom pmd_cli.main import main\nsys.exit(main())\n"
    )
    pmd.chmod(0o755)
    (venv / ".installed-stamp").touch()  # newer than the clone's pyproject.toml
    return clone


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError("make run never said where to go:\n" + "\n".join(lines))


def _link(lines: list[str], label: str) -> str:
    [line] = [line for line in lines if label in line]
    found = LINK.search(line)
    assert found is not None, line
    return found.group(1)


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="make, git")
def test_make_run_on_a_fresh_clone_opens_a_demonstration(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMD_", "TELEGRAM_"))}
    process = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = _read_until(process, "Para detenerlo", timeout=120)
        text = "\n".join(lines)
        assert "{" not in text.split("pmd serve", 1)[1], "the console shows JSON lines"
        chat, dashboard = _link(lines, "Chat en el navegador"), _link(lines, "Tablero público")
        staff = _link(lines, "Panel del personal")
        settings = (clone / ".env").read_text()
        port = re.search(r"^PMD_PORT=(\d+)$", settings, re.M)
        assert port is not None and f":{port.group(1)}/" in chat
        assert "PMD_SECRET_KEY=" in settings and "PMD_CONSULTATION=" in settings
        with httpx.Client(timeout=10) as client:
            page = client.get(chat)
            assert page.status_code == 200 and "demostración" in page.text.lower()
            origin = chat.split("/participa")[0]
            answer = client.post(
                f"{origin}/participa/mensajes",
                json={"kind": "start", "text": "", "id": "first"},
                headers={"Origin": origin},
            )
            assert answer.status_code == 200, answer.text
            [greeting] = answer.json()["replies"]
            labels = [b["label"] for row in greeting["buttons"] for b in row]
            assert "Demostración" in greeting["text"] and "Acepto" in labels
            board = client.get(dashboard)
            assert board.status_code == 200 and "Demostración" in board.text
            panel = client.get(staff, follow_redirects=True)
            assert panel.status_code == 200 and "/panel" in str(panel.url)
            again = client.get(staff, follow_redirects=True)  # a one-time link
            assert "/panel/entrar" in str(again.url) or again.status_code >= 400
        # the CLI reads the same settings: its staff link points where the server listens
        link = subprocess.run(
            [str(clone / ".venv" / "bin" / "pmd"), "staff", "link", "1"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert link.stdout.startswith(origin + "/panel/")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=30)

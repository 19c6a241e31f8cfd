"""The shipped deployment files (deploy/), checked by the real tools from Debian's packages.

``systemd-analyze verify`` on every unit (in a scratch root holding the system's own
units and the programs the units start), ``nginx -t`` with a self-signed certificate
made here, nginx really proxying to a running application over TLS, and ``caddy
validate``. ``scripts/system-deps.sh`` installs the tools; without one the test says
which is missing (and fails under CI).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from pmd_domain.consultation import Consultation
from pmd_domain.settings import Settings
from tests.e2e.hosting import PMD, free_port
from web.app import create_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
NGINX_SITE = DEPLOY / "nginx" / "participa-pmd.conf"
CADDYFILE = DEPLOY / "caddy" / "Caddyfile"
SYSTEM_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    None,
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(tool: str) -> str:
    """The tool's path; a skip (a failure under CI) naming the package when it is missing."""
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if found is None:
        message = f"{tool} is not installed (bash scripts/system-deps.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_every_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = need("systemd-analyze")
    assert SYSTEM_UNITS is not None, "no systemd units on this machine"
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    installed = root / "etc/systemd/system"
    installed.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, installed / unit.name)
        # The programs the unit starts, where the install steps put them.
        for program in re.findall(r"^Exec\w*=[-@:+!]*(/\S+)", unit.read_text(), re.M):
            place = root / program.lstrip("/")
            place.parent.mkdir(parents=True, exist_ok=True)
            source = PMD if program.endswith("/bin/pmd") else Path(program)
            assert source.exists(), f"{unit.name} starts {program}, which does not exist"
            shutil.copy(source, place)
    names = [u.name.replace("@.service", "@8081.service") for u in UNITS]
    result = subprocess.run(
        [analyze, "verify", f"--root={root}", *(str(installed / n) for n in names)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    assert {u.name for u in UNITS} >= {"pmd.service", "pmd@.service", "pmd-backup.timer"}


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for participa.example.mx, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [need("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=participa.example.mx", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_config(folder: Path, site: str) -> Path:
    """A main nginx.conf holding ``site``, with every path of its own inside ``folder``."""
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    main.write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\nevents {{}}\n"
        f"http {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n"
    )
    return main


def shipped_site(folder: Path) -> str:
    """The shipped nginx site with the test's certificate instead of Let's Encrypt's."""
    cert, key = self_signed(folder)
    text = NGINX_SITE.read_text()
    text = text.replace("/etc/letsencrypt/live/participa.example.mx/fullchain.pem", str(cert))
    return text.replace("/etc/letsencrypt/live/participa.example.mx/privkey.pem", str(key))


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = need("nginx")
    main = nginx_config(tmp_path, shipped_site(tmp_path))
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


async def test_nginx_serves_the_application_over_tls_and_keeps_metrics_inside(
    tmp_path: Path, sqlite_url: str, consultation: Consultation
) -> None:
    nginx = need("nginx")
    settings = Settings(  # type: ignore[call-arg]
        PMD_ENV="test", PMD_DATABASE_URL=sqlite_url, PMD_PUBLIC_URL="https://participa.example.mx"
    )
    app = create_app(settings, consultation=consultation)

    async def seen(request: web.Request) -> web.Response:
        return web.json_response({"xff": request.headers.get("X-Forwarded-For")})

    app.router.add_get("/prueba/visto", seen)
    https, http = free_port(), free_port()
    async with TestServer(app, host="127.0.0.1") as backend:
        # The shipped site with the test's ports, its certificate and this backend.
        site = shipped_site(tmp_path)
        site = re.sub(r"server 127\.0\.0\.1:\d+[^;]*;\n", "", site)
        site = site.replace("least_conn;", f"least_conn;\n    server 127.0.0.1:{backend.port};")
        site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{http};")
        site = re.sub(r"\s*listen \[::\]:\d+[^;]*;", "", site)
        main = nginx_config(tmp_path, site)
        process = await asyncio.create_subprocess_exec(
            nginx, "-p", str(tmp_path), "-c", str(main), "-g", "daemon off;",
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        tls = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        tls.check_hostname = False
        base = f"https://127.0.0.1:{https}"
        try:
            async with aiohttp.ClientSession() as client:
                for _ in range(100):
                    try:
                        async with client.get(f"{base}/healthz", ssl=tls) as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05)
                async with client.get(f"{base}/", ssl=tls) as response:
                    assert response.status == 200
                    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
                    assert not re.search(r"\d", response.headers.get("Server", ""))
                async with client.get(f"{base}/metrics", ssl=tls) as response:
                    assert response.status == 404  # though nginx's address is loopback
                async with client.get(backend.make_url("/metrics")) as response:
                    assert response.status == 200  # directly, from this machine
                spoofed = {"X-Forwarded-For": "6.6.6.6"}
                async with client.get(f"{base}/prueba/visto", ssl=tls, headers=spoofed) as r:
                    assert (await r.json())["xff"] == "127.0.0.1"
                async with client.get(
                    f"http://127.0.0.1:{http}/participa", allow_redirects=False
                ) as response:
                    assert response.status == 301
                    assert response.headers["Location"].startswith("https://")
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


def test_the_caddyfile_passes_caddy_validate(tmp_path: Path) -> None:
    caddy = need("caddy")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [caddy, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    assert '"level":"warn"' not in result.stderr, result.stderr
    formatted = subprocess.run(
        [caddy, "fmt", str(CADDYFILE)], capture_output=True, text=True, check=True
    )
    assert formatted.stdout == CADDYFILE.read_text()

"""A throw-away PostgreSQL server for tests and benchmarks (see TESTING.md)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("PMD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None if it can."""
    if not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL binaries not found in {PG_BIN}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "there is no postgres user"
    return None


class PostgresServer:
    """initdb + pg_ctl start in a temporary directory, as the postgres user when root."""

    def __init__(self, *, durable: bool = False):
        self.durable = durable
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pmd-pg-"))
        self.data = self.dir / "data"

    def _cmd(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self) -> PostgresServer:
        """Create the cluster and start the server; wait until it accepts connections."""
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            self._cmd(
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        self._options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        if not self.durable:
            self._options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self.pg_ctl("start")
        return self

    def pg_ctl(self, action: str, *args: str) -> None:
        """Run ``pg_ctl ACTION`` on this cluster (``start`` keeps the options of the first)."""
        options = ["-o", self._options] if action in ("start", "restart") else []
        subprocess.run(
            self._cmd(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "pg.log"),
                "-w",
                *options,
                *args,
                action,
            ),
            check=True,
            capture_output=True,
        )

    def pids(self) -> list[int]:
        """The server's processes: the postmaster and every backend and helper it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of the server stopped with SIGSTOP for the block (a hung server)."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create a database (optionally copied from ``template``) and return its URL."""
        import asyncpg

        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        subprocess.run(
            self._cmd(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

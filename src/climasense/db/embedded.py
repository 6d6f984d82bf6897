"""A private PostgreSQL in `$CLIMASENSE_DATA_DIR/pg`, for running without CLIMASENSE_DATABASE_URL.

Uses the machine's PostgreSQL binaries (`pg_config --bindir`, or /usr/lib/postgresql/*/bin).
PostgreSQL refuses to run as root; as root we run it inside a user namespace that maps the
caller to an unprivileged uid (`unshare -U --map-user`), so the data folder stays owned by the
caller and no chown or system user is needed. The cluster is password-protected (scram) and
listens only on 127.0.0.1 on a port chosen at start; other CLI commands find the running
cluster through `postmaster.pid`.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from climasense.errors import ConfigurationError

log = logging.getLogger(__name__)

_UNPRIVILEGED_ID = "1000"
_DB_NAME = "climasense"
_DB_USER = "climasense"


def find_bindir(explicit: Path | None = None) -> Path:
    """PostgreSQL's server programs: `explicit` (CLIMASENSE_PG_BINDIR), or found on the system."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            )
            candidates.append(Path(out.stdout.strip()))
        except (subprocess.SubprocessError, OSError):
            pass
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ConfigurationError(
        "No PostgreSQL server binaries found for the embedded database. Install them "
        "(Debian: apt-get install postgresql) or set CLIMASENSE_DATABASE_URL."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    bindir_setting: Path | None = None  # CLIMASENSE_PG_BINDIR

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.pgdata = self.data_dir / "pg"
        self.password_file = self.data_dir / "pg_password"
        self.log_file = self.data_dir / "postgres.log"
        self._bindir: Path | None = None

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_bindir(self.bindir_setting)
        return self._bindir

    def _command(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            unshare = shutil.which("unshare")
            if unshare is None:
                raise ConfigurationError(
                    "PostgreSQL refuses to run as root and `unshare` (util-linux) is missing; "
                    "run as another user or set CLIMASENSE_DATABASE_URL"
                )
            argv = [
                unshare,
                "-U",
                f"--map-user={_UNPRIVILEGED_ID}",
                f"--map-group={_UNPRIVILEGED_ID}",
                *argv,
            ]
        return argv

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(tool, *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    @property
    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(32)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        tmp_pwfile = self.data_dir / ".initdb_pw"
        fd = os.open(tmp_pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        try:
            result = self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                _DB_USER,
                "-A",
                "scram-sha-256",
                f"--pwfile={tmp_pwfile}",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            tmp_pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ConfigurationError(f"initdb failed:\n{result.stderr.strip()[-2000:]}")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# ClimaSense embedded defaults\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "synchronous_commit = on\n"
            )

    def running_port(self) -> int | None:
        """The port of a postmaster running on this data folder, if any."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return port

    def dsn(self, port: int) -> str:
        password = quote(self.password_file.read_text().strip(), safe="")
        return f"postgresql://{_DB_USER}:{password}@127.0.0.1:{port}/{_DB_NAME}"

    def start(self, port: int | None = None) -> tuple[str, bool]:
        """Start the cluster unless it runs; return (dsn, whether this call started it)."""
        if not self.initialized:
            log.info("initialising embedded PostgreSQL in %s", self.pgdata)
            self.initdb()
        if (running := self.running_port()) is not None:
            return self.dsn(running), False
        port = port or _free_port()
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port}",
            "start",
        )
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else result.stderr
            raise ConfigurationError(f"embedded PostgreSQL did not start:\n{tail.strip()}")
        self._ensure_database(port)
        return self.dsn(port), True

    def _ensure_database(self, port: int) -> None:
        env = {**os.environ, "PGPASSWORD": self.password_file.read_text().strip()}
        psql = self.bindir / "psql"
        if not psql.exists():
            psql = Path(shutil.which("psql") or "psql")
        base = [
            str(psql),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            _DB_USER,
            "-d",
            "postgres",
            "-tAc",
        ]
        for _ in range(50):
            probe = subprocess.run(
                [*base, f"SELECT 1 FROM pg_database WHERE datname = '{_DB_NAME}'"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.2)
        if probe.stdout.strip() != "1":
            created = subprocess.run(
                [*base, f"CREATE DATABASE {_DB_NAME}"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if created.returncode != 0:
                raise ConfigurationError(f"could not create database: {created.stderr.strip()}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (`mode` as pg_ctl's: smart, fast, immediate)."""
        if self.running_port() is None:
            return
        result = self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")
        if result.returncode != 0:
            log.warning("embedded PostgreSQL did not stop cleanly: %s", result.stderr.strip())

"""The CLI as a client of the operator API: `climasense --url URL --token TOKEN …` (or
`CLIMASENSE_URL` / `CLIMASENSE_TOKEN`).

With a URL every operator command goes through `/admin/v1` over HTTP: no database, no server
secret, the token's role decides what it may do, and the server records each change in the
audit trail under that token. Without a URL the commands that existed before keep working on
the server's own machine against its database (audited as `local cli`); the commands added for
remote use need the URL.

A refusal prints the server's error message on stderr (and, with `--json`, its error body on
stdout) and exits 1; a server that cannot be reached exits 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn

import click
import httpx
import orjson

from climasense.cli.output import emit_json

URL_ENV = "CLIMASENSE_URL"
TOKEN_ENV = "CLIMASENSE_TOKEN"  # noqa: S105  # the variable's name, not a secret


@dataclass(frozen=True, slots=True)
class Remote:
    url: str
    token: str | None


class OperatorClient:
    """A thin synchronous client of `/admin/v1` for one command."""

    def __init__(self, remote: Remote, *, as_json: bool, timeout: float = 60.0) -> None:
        if not remote.token:
            raise click.UsageError(f"--url needs --token (or {TOKEN_ENV})")
        self.as_json = as_json
        self._client = httpx.Client(
            base_url=remote.url.rstrip("/"),
            headers={"Authorization": f"Bearer {remote.token}", "User-Agent": "climasense-cli"},
            timeout=timeout,
        )

    def __enter__(self) -> OperatorClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The response body (None for 204); on a refusal print it and exit 1."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(
                method,
                "/admin/v1" + path,
                json=json,
                params=query,
                content=content,
                headers=dict(headers or {}),
            )
        except httpx.HTTPError as exc:
            click.echo(f"climasense: cannot reach {self._client.base_url} ({exc})", err=True)
            sys.exit(2)
        if (response.status_code == 204 or not response.content) and response.is_success:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {"error": "bad_response", "message": response.text[:500], "details": []}
        if not response.is_success:
            self.refused(response.status_code, body)
        return body

    def download(
        self, path: str, sink: BinaryIO, *, params: Mapping[str, Any] | None = None
    ) -> None:
        """Stream a response body (e.g. a CSV export) into `sink` chunk by chunk, never
        holding it whole; on a refusal print the error body and exit 1."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            with self._client.stream("GET", "/admin/v1" + path, params=query) as response:
                if not response.is_success:
                    response.read()
                    try:
                        body = response.json()
                    except ValueError:
                        body = {"error": "bad_response", "message": response.text[:500]}
                    self.refused(response.status_code, body)
                for chunk in response.iter_bytes():
                    sink.write(chunk)
        except httpx.HTTPError as exc:
            click.echo(f"climasense: cannot reach {self._client.base_url} ({exc})", err=True)
            sys.exit(2)
        sink.flush()

    def refused(self, status: int, body: Any) -> NoReturn:
        if self.as_json:
            emit_json(body)
        message = body.get("message") if isinstance(body, dict) else None
        details = body.get("details") if isinstance(body, dict) else None
        extra = "".join(
            f"\n  {d.get('field')}: {d.get('message')}"
            for d in details or []
            if isinstance(d, dict)
        )
        click.echo(f"climasense: {message or f'HTTP {status}'} (HTTP {status}){extra}", err=True)
        sys.exit(1)


def remote_of(ctx: click.Context | None = None) -> Remote | None:
    """The `--url`/`--token` given to the root command (or by environment), if any."""
    ctx = ctx or click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    remote = root.obj if root is not None else None
    return remote if isinstance(remote, Remote) else None


def client(*, as_json: bool) -> OperatorClient:
    """The operator API client for a command that works only remotely."""
    remote = remote_of()
    if remote is None:
        raise click.UsageError(
            f"this command talks to the operator API: give --url and --token "
            f"(or {URL_ENV} and {TOKEN_ENV})"
        )
    return OperatorClient(remote, as_json=as_json)


def print_rows(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> None:
    names = list(columns)
    for row in rows:
        click.echo("\t".join(_cell(row.get(name)) for name in names))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def emit(body: Any, *, as_json: bool, columns: Iterable[str], key: str | None = None) -> None:
    """Print a response: JSON with `--json`, otherwise one tab-separated line per item."""
    if as_json:
        emit_json(body)
        return
    if body is None:
        return
    items = body.get(key, []) if key is not None else [body]
    print_rows(items, columns)

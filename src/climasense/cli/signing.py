"""`climasense firmware keygen|sign`: the fleet owner's offline Ed25519 key (CONTRACT §12).

Neither command talks to a server or a database: run them on the machine that keeps the key
(ideally one that is offline), then upload the image with the printed signature, or with
`climasense firmware upload --key` where the key is at hand.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from climasense.cli.output import emit_json
from climasense.ota import signing


def _fail(exc: signing.SigningError) -> NoReturn:
    click.echo(f"climasense: {exc}", err=True)
    sys.exit(1)


@click.command("keygen")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for signing.key (private, mode 0600) and signing.pub (base64 public key).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the paths and key id as JSON.")
def keygen(out: Path, as_json: bool) -> None:
    """Create an Ed25519 signing key pair (refuses to overwrite one)."""
    try:
        private_path, public_path, kid = signing.generate(out)
    except signing.SigningError as exc:
        _fail(exc)
    public = public_path.read_text().strip()
    if as_json:
        emit_json(
            {
                "private_key": str(private_path),
                "public_key_file": str(public_path),
                "public_key": public,
                "signing_key_id": kid,
            }
        )
        return
    click.echo(f"private key: {private_path} (keep it offline; never give it to the server)")
    click.echo(f"public key:  {public_path}")
    click.echo(f"key id:      {kid}")
    click.echo(f"trust it on the server: CLIMASENSE_FIRMWARE_PUBLIC_KEYS={public}")


@click.command("sign")
@click.argument(
    "image", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="The private key (signing.key from keygen).",
)
@click.option("--model", required=True)
@click.option("--version", "version", required=True, help="The version it will be uploaded as.")
def sign(image: Path, key_path: Path, model: str, version: str) -> None:
    """Sign IMAGE as MODEL VERSION; prints {"signature", "signing_key_id"} as JSON."""
    try:
        key = signing.load_private_key(key_path)
    except signing.SigningError as exc:
        _fail(exc)
    emit_json(signing.sign_image(key, image, model=model, version=version).as_dict())


def signature_for(key_path: Path | None, image: Path, *, model: str, version: str) -> str | None:
    """The signature `firmware upload --key` sends (None without --key); exits on a bad key."""
    if key_path is None:
        return None
    try:
        key = signing.load_private_key(key_path)
    except signing.SigningError as exc:
        _fail(exc)
    return signing.sign_image(key, image, model=model, version=version).signature

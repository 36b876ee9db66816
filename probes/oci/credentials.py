"""Registry credentials from named environment variables or a Docker ``config.json``.

Values are registered as secrets the moment they are read; only the *source* (an env var
name or a file path) is ever mentioned in a reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from auditor.http import Credentials
from auditor.redact import register_secret
from auditor.refs import DOCKER_HUB_ALIASES

from .settings import OciSettings

__all__ = ["Credentials", "from_docker_config", "resolve"]


def _secret(value: str | None) -> str | None:
    register_secret(value)
    return value


def _config_path(settings: OciSettings) -> Path:
    if settings.docker_config:
        return Path(settings.docker_config).expanduser()
    if os.environ.get("DOCKER_CONFIG"):
        return Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    return Path.home() / ".docker" / "config.json"


def _host_of(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``index.docker.io``; ``host:5000`` stays."""
    netloc = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    return netloc.lower()


def _same_registry(a: str, b: str) -> bool:
    return a == b or (a in DOCKER_HUB_ALIASES and b in DOCKER_HUB_ALIASES)


def from_docker_config(path: Path, host: str) -> tuple[Credentials | None, str | None]:
    """Credentials for ``host`` and a note when something could not be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"docker config {path} is unreadable ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, f"docker config {path} is not a JSON object"
    auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
    for key, entry in auths.items():
        if not isinstance(entry, dict) or not _same_registry(_host_of(key), host):
            continue
        for field in ("auth", "password", "identitytoken", "registrytoken"):
            _secret(entry.get(field) if isinstance(entry.get(field), str) else None)
        if entry.get("registrytoken"):
            return Credentials(token=entry["registrytoken"], source=str(path)), None
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, f"docker config {path}: auths entry for {host} is not base64 user:password"
            if not sep:
                return None, f"docker config {path}: auths entry for {host} has no ':'"
            return Credentials(username=user, password=_secret(password), source=str(path)), None
        if entry.get("username") and entry.get("password"):
            return Credentials(username=entry["username"], password=entry["password"],
                               source=str(path)), None
        if entry.get("identitytoken"):
            return None, (f"docker config {path}: only an identity token for {host} "
                          "(OAuth refresh tokens are not supported; set username_env/password_env)")
    helper = (data.get("credHelpers") or {}).get(host) if isinstance(data.get("credHelpers"), dict) else None
    if helper or data.get("credsStore"):
        return None, (f"docker config {path} names a credsStore/credHelpers program for {host}; "
                      "such programs are not run by the auditor (set username_env/password_env "
                      "or token_env)")
    return None, None


def resolve(settings: OciSettings, host: str) -> tuple[Credentials | None, list[str]]:
    """Environment variables first, then the Docker config. Returns notes for problems."""
    creds, notes = Credentials.from_env(settings.token_env, settings.username_env,
                                        settings.password_env)
    if creds is not None:
        return creds, notes
    path = _config_path(settings)
    creds, note = from_docker_config(path, host)
    if note:
        notes.append(note)
    elif creds is None and settings.docker_config and not path.exists():
        notes.append(f"docker_config {path} does not exist")
    return creds, notes

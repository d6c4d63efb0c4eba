"""Redaction: hide secrets, never settings.

A reviewer must see `http_tokens = "optional"` (an IMDSv2 downgrade), `persist-credentials:
false` or a `secretKeyRef` name; none of them is a secret. A value is hidden when

- its holder is a secret as a whole (a Kubernetes Secret's `data`, a Terraform `sensitive`
  value): `redact`, whatever the value; or
- it is the password of a URL (`postgres://orders:hunter2@db/orders`): `mask_url_passwords`;
- its field is named like a secret (`password`, `client_secret`, `api_key`, `GITHUB_TOKEN`) *and*
  the value is a literal: not a reference (`var.x`, `${{ secrets.X }}`, `$(DB_PASS)`,
  `{{ .Values.x }}`, a `valueFrom`/`secretKeyRef` mapping), not a boolean or number setting, not
  empty: `mask_secret`.

Used by every analyzer, the risk-message templates, the audit store and the service logs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from app.core.models import REDACTED

__all__ = [
    "K8S_SECRET_KIND",
    "REDACTED",
    "inherits_secret",
    "is_k8s_secret_data",
    "is_reference",
    "is_secret_literal",
    "is_secret_name",
    "mask_secret",
    "mask_url_passwords",
    "redact",
    "redact_tree",
    "scrub_text",
]

# The head noun of a secret-named field: the last word ends with one of these (`PGPASSWORD`,
# `GITHUB_TOKEN`, `client_secret`, `credentials`). `tokens`, `tokenizer`, `token_lifetime`,
# `secretKeyRef`, `password_length` end with other words, so they are settings.
_SECRET_WORD = re.compile(
    r"(passw(or)?d|passphrase|secrets?|token|credentials?|apikey|privatekey|accesskey|secretkey)$"
)
# `<qualifier>_key` is a secret; a plain `key` (a map key, a pricing key, a Secret's key) is not.
_KEY_QUALIFIERS = frozenset(
    {"private", "api", "access", "secret", "signing", "ssh", "auth", "encryption", "master",
     "client", "license", "webhook", "account", "storage", "shared", "session", "hmac"}
)  # fmt: skip
# Trailing words that keep the secret meaning: `private_key_pem`, `API_TOKEN_VALUE`.
_SECRET_SUFFIXES = frozenset({"pem", "b64", "base64", "value", "plain", "plaintext", "raw"})
# Words that turn a secret-sounding name into a setting: `http_tokens`, `max_tokens`.
_SETTING_PREFIXES = frozenset({"http", "max", "min", "num", "manage", "persist", "rotate"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

# A value that names where a secret lives instead of holding it.
_REFERENCE = re.compile(
    r"""
    \$\{ | \{\{ | \{% | \$\( | <%                       # ${…} ${{ secrets.X }} {{ .Values.x }} $(ENV)
    | ^\$[A-Za-z_][A-Za-z0-9_]*$                         # $DB_PASSWORD
    | ^(var|local|data|module|each|count|self|path|terraform)\.[A-Za-z_]   # Terraform references
    | ^[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z_][\w-]*\.[A-Za-z_]               # aws_x.name.attr
    | ^[a-z_][a-z0-9_]*\(                                # a Terraform function call
    | ^arn:aws[\w-]*:(secretsmanager|ssm|kms):           # AWS Secrets Manager / SSM parameter
    | ^(vault|ref\+\w+|op|awssm|gcpsm|azkv|sops)://      # external secret stores
    | ^vault:
    """,
    re.VERBOSE,
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?P<userinfo>[^/@\s]*@)?[^\s]*$", re.IGNORECASE)
_FILE_PATH = re.compile(r"^(/|\./|\.\./|~/)[\w.@/-]*$")  # /var/run/secrets/…/token
# The password of a connection string (`postgres://orders:hunter2@db:5432/orders`).
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/:@\s]*:)(?P<password>[^/\s]+)@", re.I
)
# Setting words, never secrets: booleans, token permission levels (`id-token: write`), modes.
_SETTING_WORDS = frozenset(
    {"true", "false", "yes", "no", "on", "off", "read", "write", "none", "inherit", "optional",
     "required", "enabled", "disabled"}
)  # fmt: skip
# Mapping keys that point at a secret elsewhere: their strings are names, not values.
_REFERENCE_KEYS = frozenset(
    {"valueFrom", "secretKeyRef", "secretRef", "configMapKeyRef", "fromSecret", "existingSecret",
     "secretName", "name", "key", "ref", "vault", "arn", "path", "file", "env"}
)  # fmt: skip


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """True when a field name says its value is a secret (password, token, private_key…)."""
    words = _words(name)
    while len(words) > 1 and words[-1] in _SECRET_SUFFIXES:
        words.pop()
    if not words or any(w in _SETTING_PREFIXES for w in words[:-1]):
        return False
    last = words[-1]
    if last in ("key", "keys"):
        return len(words) > 1 and words[-2] in _KEY_QUALIFIERS
    return bool(_SECRET_WORD.search(last))


def is_reference(text: str) -> bool:
    """True for a string that points at a secret rather than holding it."""
    return bool(_REFERENCE.search(text.strip()))


def is_secret_literal(value: Any) -> bool:
    """True for a value that could be a secret itself: a non-empty string that is not a
    reference, a boolean word or a plain URL (a token endpoint); userinfo in a URL is secret."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or text.lower() in _SETTING_WORDS or is_reference(text):
        return False
    if _FILE_PATH.match(text):
        return False
    url = _URL.match(text)
    return url is None or url["userinfo"] is not None


def mask_url_passwords(text: str) -> str:
    """A string with the password of every URL in it redacted, the rest (host, user, database)
    visible: `postgres://orders:<redacted>@db:5432/orders`."""

    def hide(match: re.Match[str]) -> str:
        password = match["password"]
        shown = password if is_reference(password) else REDACTED
        return f"{match['head']}{shown}@"

    return _URL_PASSWORD.sub(hide, text) if "://" in text else text


def inherits_secret(key: str) -> bool:
    """Inside a secret-named mapping, whether field `key` is secret too (`token: {value: …}`)
    or names where the secret lives (`valueFrom`, `secretKeyRef`, `name`, `key`)."""
    return key not in _REFERENCE_KEYS


K8S_SECRET_KIND = "Secret"
K8S_SECRET_SECTIONS = ("data", "stringData")
_PATH_PARTS = re.compile(r"[.\[\]/]")


def is_k8s_secret_data(kind: str | None, path: str) -> bool:
    """Whether `path` (a field path such as `data.password` or `stringData[tls.key]`) lies in a
    Kubernetes Secret's `data`/`stringData`, where every value is secret whatever its key says.

    The one statement of the rule: the Kubernetes analyzer seals these values and the audit
    chain redacts them again before hashing (defense in depth)."""
    if kind != K8S_SECRET_KIND:
        return False
    parts = [p for p in _PATH_PARTS.split(path) if p]
    return bool(parts) and parts[0] in K8S_SECRET_SECTIONS


def redact(value: Any) -> Any:
    """Replace a secret value (any shape) by a marker; None stays None so create/delete shows."""
    return None if value is None else REDACTED


def mask_secret(value: Any) -> Any:
    """The value of a secret-named field as it may be shown: literal strings (at any depth)
    become REDACTED; references, booleans, numbers and empty values stay visible."""
    if isinstance(value, dict):
        return {
            k: mask_secret(v) if inherits_secret(str(k)) else redact_tree(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secret(v) for v in value]
    return REDACTED if is_secret_literal(value) else value


# Leaves `redact_tree` keeps as they are without a call: it runs over every value a change shows
# (a 20 MB Terraform plan has ~200,000 of them), so the common leaf is handled inline.
_PLAIN_LEAVES = (int, float, bool, type(None))


def redact_tree(value: Any, secret: bool = False) -> Any:
    """Copy `value` with every secret-named field (at any depth) masked; `secret` hides all."""
    if secret:
        return redact(value)
    if isinstance(value, dict):
        return {
            k: (
                mask_secret(v)
                if is_secret_name(k if type(k) is str else str(k))
                else v
                if type(v) in _PLAIN_LEAVES or (type(v) is str and "://" not in v)
                else redact_tree(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            v if type(v) in _PLAIN_LEAVES or (type(v) is str and "://" not in v) else redact_tree(v)
            for v in value
        ]
    return mask_url_passwords(value) if isinstance(value, str) else value


# Credentials that show up inside free text (error messages, exception reprs).
_TEXT_SECRETS = re.compile(
    r"""
    -----BEGIN[A-Z ]*PRIVATE\ KEY-----.*?(-----END[A-Z ]*PRIVATE\ KEY-----|$)   # PEM keys
    | \b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})                # GitHub tokens
    | \beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*                   # JWTs
    | (?<=\b[Bb]earer\ )[^\s'"]+ | (?<=\b[Tt]oken\ )[A-Za-z0-9._~+/=-]{16,}      # auth headers
    """,
    re.VERBOSE | re.DOTALL,
)
_NAMED_SECRET = re.compile(
    r"(?P<name>[A-Za-z_][\w-]*)(?P<sep>['\"]?\s*[=:]\s*['\"]?)(?P<value>[^\s'\",;&]+)"
)


def scrub_text(text: str) -> str:
    """Free text (an error message) with credentials masked: URL passwords, PEM private keys,
    GitHub tokens, JWTs, bearer tokens and `password=…`-style assignments."""
    text = _TEXT_SECRETS.sub(REDACTED, mask_url_passwords(text))

    def named(match: re.Match[str]) -> str:
        if not is_secret_name(match["name"]) or not is_secret_literal(match["value"]):
            return match[0]
        return f"{match['name']}{match['sep']}{REDACTED}"

    return _NAMED_SECRET.sub(named, text)


def redacted_view(value: Any) -> Any:
    """`redact_tree(value)`, but `value` itself when nothing in it needs masking (no copy).

    For values that are never mutated (parsed plan JSON held by frozen changes): most hold no
    secret-named field and no URL, and checking is cheaper than copying.
    """
    return value if _clean(value) else redact_tree(value)


def _clean(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return "://" not in value
    if kind in _PLAIN_LEAVES:
        return True
    if kind is dict:
        if any(type(k) is not str or is_secret_name(k) for k in value):
            return False
        items: Iterable[Any] = value.values()
    elif kind is list:
        items = value
    else:
        return False  # anything else (tuples, str subclasses): let redact_tree decide
    for v in items:  # strings inline: most leaves are, and a call per leaf is the cost here
        if type(v) is str:
            if "://" in v:
                return False
        elif type(v) not in _PLAIN_LEAVES and not _clean(v):
            return False
    return True

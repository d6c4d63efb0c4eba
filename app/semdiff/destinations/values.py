"""Reading one string as a destination: a URL's host, an e-mail's domain, an ARN's region and
account, a container image's repository, an action's owner, a bucket's name, a policy's principals.

Only literal values count: a string that is (or whose interesting part is) an expression
(`${var.x}`, `{{ .Values.x }}`, `$(VAR)`, `(known after apply)`) or a redaction marker names no
destination, so it yields nothing here; the file that holds the literal is checked where it is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from app.core.models import REDACTED

MAX_PRINCIPAL_BLOCKS = 200
"""Principal blocks read per string (an AWS policy document holds at most a few dozen)."""
MAX_VALUE_CHARS = 4_096
"""How far one principal value is read (a principal block is far shorter)."""

_EXPRESSION = re.compile(r"\$\{|\{\{|\{%|\$\(|<%|\(known after apply\)")

_URL_HOST = re.compile(r"\bhttps?://(?:[^\s/@\"']*@)?([A-Za-z0-9][A-Za-z0-9.-]*)(\S?)", re.I)
_EMAIL = re.compile(
    r"(?<![\w.%+/-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![\w-])"
)
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_INTERNAL_HOSTS = ("localhost", "127.", "0.0.0.0", "169.254.")
_INTERNAL_SUFFIXES = (".local", ".localhost", ".svc", ".internal", ".cluster.local", ".localdomain")
_NOT_DESTINATION_DOMAINS = ("gserviceaccount.com",)

_ARN = re.compile(
    r"\barn:aws[a-z-]*:([a-z0-9-]+):([a-z]{2}(?:-[a-z]+)+-\d{1,2})?:(\d{12}|aws)?:", re.I
)
_SERVICE_ACCOUNT = re.compile(r"@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com\b")
_AZURE_SUBSCRIPTION = re.compile(
    r"/subscriptions/([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})\b", re.I
)

AWS_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
GCP_REGION = re.compile(r"[a-z]+-[a-z]+\d{1,2}")
_ANY_REGION = re.compile(r"[a-z][a-z0-9-]{1,38}[a-z0-9]")
_ZONE = re.compile(r"([a-z]{2}(?:-gov)?-[a-z]+-\d{1,2})[a-z]|([a-z]+-[a-z]+\d{1,2})-[a-z]")
ACCOUNT_ID = re.compile(r"\d{12}")
GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
GUID = re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")
_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|[a-z]+):\S+")

_IMAGE = re.compile(r"[a-z0-9][a-z0-9._:/@+-]*")
_ACTION = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*)/[A-Za-z0-9._-]+(?:/[^@\s]*)?@\S+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_BUCKET_IN = re.compile(
    r"^(?:arn:aws[a-z-]*:s3:::|s3a?://|gs://|(?:https://)?storage\.googleapis\.com/)([^/\s]+)"
)
_IMAGE_IN_TEXT = re.compile(r"\"?\bimage\"?\s*[:=]\s*\"([^\"\s]+)\"")
_PRINCIPAL_KEY = re.compile(r"\"?\b(?:Not)?Principal\"?\s*[:=]\s*")
_AWS_KEY = re.compile(r"\"?\bAWS\"?\s*[:=]\s*")
_QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)\"")
_BARE = re.compile(r"[^,}\]\n]*")
_STRUCTURE = re.compile(r"\\.|[\"{}\[\]]", re.S)  # escapes first, so `\"` is never a quote


def literal(text: str) -> bool:
    """A value that holds no expression and no redaction marker."""
    return REDACTED not in text and not _EXPRESSION.search(text)


def url_hosts(text: str) -> Iterator[str]:
    """Hosts of the http(s) URLs in `text` that leave the machine or cluster (lower case)."""
    if "://" not in text:
        return
    for match in _URL_HOST.finditer(text):
        host, follow = match.group(1).lower().rstrip("."), match.group(2)
        if follow in ("$", "{", "%", "<"):  # the host continues with an expression
            continue
        if "." not in host or host.startswith(_INTERNAL_HOSTS):
            continue
        if host.endswith(_INTERNAL_SUFFIXES):
            continue
        yield host


def email_domains(text: str) -> Iterator[str]:
    """Domains of the e-mail addresses in `text` (service-account identities are not mail)."""
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        domain = match.group(1).lower()
        if not domain.endswith(_NOT_DESTINATION_DOMAINS):
            yield domain


def arn_parts(text: str) -> Iterator[tuple[str | None, str | None]]:
    """(region, account) of every AWS ARN in `text`; either may be None (`arn:aws:s3:::b`)."""
    if "arn:" not in text:
        return
    for match in _ARN.finditer(text):
        account = match.group(3)
        yield (
            match.group(2).lower() if match.group(2) else None,
            account if account and account.isdigit() else None,
        )


def embedded_accounts(text: str) -> Iterator[str]:
    """GCP projects of service-account e-mails and Azure subscriptions of resource ids."""
    if "gserviceaccount.com" in text:
        yield from (m.group(1) for m in _SERVICE_ACCOUNT.finditer(text))
    if "/subscriptions/" in text.lower():
        yield from (m.group(1).lower() for m in _AZURE_SUBSCRIPTION.finditer(text))


def region_of(text: str, *, strict: bool) -> str | None:
    """A region or location name; `strict` accepts only AWS and GCP shapes (keys of free-form
    config), otherwise any region-like word (`westeurope`, `EU`, `West Europe` → `westeurope`)."""
    value = text.strip().lower()
    if strict:
        return value if AWS_REGION.fullmatch(value) or GCP_REGION.fullmatch(value) else None
    value = value.replace(" ", "")
    return value if _ANY_REGION.fullmatch(value) or value in ("eu", "us", "asia") else None


def region_of_zone(text: str) -> str | None:
    """`eu-west-1a` → `eu-west-1`, `europe-west1-b` → `europe-west1`."""
    match = _ZONE.fullmatch(text.strip().lower())
    return (match.group(1) or match.group(2)) if match else None


def principal_of(text: str) -> str | None:
    """An account id, an ARN or `*` as a policy principal; None for service principals
    (`lambda.amazonaws.com`) and anything else."""
    value = text.strip()
    if value == "*" or ACCOUNT_ID.fullmatch(value) or _PRINCIPAL_ARN.fullmatch(value):
        return value
    return None


def image_repository(text: str) -> str | None:
    """`nginx:1.25` → `docker.io/library/nginx`; `ghcr.io/acme/web:1.2@sha256:…` →
    `ghcr.io/acme/web`; None for anything that is not a literal image reference."""
    value = text.strip()
    if value.startswith("docker://"):
        value = value[len("docker://") :]
    value = value.lower()
    if not value or not _IMAGE.fullmatch(value):
        return None
    value = value.split("@", 1)[0]
    name, _, last = value.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    value = f"{name}/{last}" if name else last
    parts = value.split("/")
    if not all(parts):
        return None
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        return value
    if len(parts) == 1:
        return f"docker.io/library/{value}"
    return f"docker.io/{value}"


def images_in_text(text: str) -> Iterator[str]:
    """Images named by `"image": "…"` / `image = "…"` inside JSON or HCL text (ECS container
    definitions, `jsonencode(...)`)."""
    if "image" not in text:
        return
    for match in _IMAGE_IN_TEXT.finditer(text):
        found = match.group(1)
        if literal(found):
            repository = image_repository(found)
            if repository:
                yield repository


def action_owner(text: str) -> str | None:
    """`actions/checkout@v4` → `actions`; local actions (`./…`) and `docker://` images → None."""
    value = text.strip()
    match = _ACTION.fullmatch(value)
    return match.group(1).lower() if match else None


def bucket_name(text: str) -> str | None:
    """The bucket an ARN, `s3://`/`gs://` URL, `storage.googleapis.com/…` or bare name names."""
    value = text.strip()
    match = _BUCKET_IN.match(value)
    if match:
        value = match.group(1)
    value = value.lower()
    return value if _BUCKET.fullmatch(value) else None


def policy_principals(text: str) -> Iterator[str]:
    """The AWS principals (and `*`) of a policy document held as text: JSON, or the HCL of a
    `jsonencode({...})` expression. Principals that are expressions are skipped."""
    if "rincipal" not in text:
        return
    for match in itertools.islice(_PRINCIPAL_KEY.finditer(text), MAX_PRINCIPAL_BLOCKS):
        value = _balanced(text, match.end())
        if value.startswith('"'):
            found = _QUOTED.match(value)
            if found and found.group(1) == "*":
                yield "*"
            continue
        for aws in _AWS_KEY.finditer(value):
            for quoted in _QUOTED.finditer(_balanced(value, aws.end())):
                principal = principal_of(quoted.group(1))
                if principal is not None and literal(principal):
                    yield principal


def _balanced(text: str, start: int) -> str:
    """The value starting at `start`: a quoted string, a bracketed `{…}`/`[…]`, or a bare word
    (read at most MAX_VALUE_CHARS far, so a malformed document costs linear time)."""
    text = text[: start + MAX_VALUE_CHARS]
    index = start
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    if index >= len(text):
        return ""
    opener = text[index]
    if opener == '"':
        quoted = _QUOTED.match(text, index)
        return quoted.group(0) if quoted else text[index:]
    if opener not in "{[":
        bare = _BARE.match(text, index)
        return bare.group(0) if bare else ""
    depth, quoted_run = 0, False
    for token in _STRUCTURE.finditer(text, index):
        char = token.group(0)
        if quoted_run:
            if char == '"':
                quoted_run = False
        elif char == '"':
            quoted_run = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return text[index : token.end()]
    return text[index:]

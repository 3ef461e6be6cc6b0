"""The secret corpus: the shapes secrets take in what a command prints or raises, and the
harmless text that looks like them. One place, used by every check that no secret gets out
(``tests/test_secret_corpus_processes.py``) and by the command that prints them
(``tests/testapp/management/commands/secrets_command.py``).

``SECRETS`` maps a name to ``(line, secret)``: the command prints ``line``; nothing monitorkit
stores, shows, sends or logs may hold ``secret``. ``LOOKALIKES`` must all survive, untouched.
``OPTIONS`` are the command's own options whose values are secrets too (and ``--passes=3``,
whose short value must not be masked in free text).
"""

from __future__ import annotations

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = (
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu"
)

SECRETS: dict[str, tuple[str, str]] = {
    "password pair": ("login with password=hunter2-plain now", "hunter2-plain"),
    "bearer header": (f"Authorization: Bearer {JWT}", JWT),
    "basic header": ("Authorization: Basic ZGVwbG95OmJhc2ljLVBhNTU=", "ZGVwbG95OmJhc2ljLVBhNTU="),
    "libpq": (
        "connect host=db.internal port=5432 dbname=prod user=app password=pq-S3cret!x",
        "pq-S3cret!x",
    ),
    "query api_key": ("GET /v1/items?api_key=AK-query-0123456789&page=2", "AK-query-0123456789"),
    "aws secret": (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "aws key id": ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    "aws key id alone": ("using ASIAY34FZKBOKMUTVV7A for the upload", "ASIAY34FZKBOKMUTVV7A"),
    "access_token param": (
        "fetch https://api.example.com/x?access_token=tok-exc-55aa77 failed",
        "tok-exc-55aa77",
    ),
    "dsn with slash": ("db is postgres://app:Ab/Cd+Ef==@db.internal:5432/prod", "Ab/Cd+Ef=="),
    "dsn with at and percent": ("mysql://root:p%40ss@w0rd%21@db:3306/app", "p%40ss@w0rd%21"),
    "redis no user": ("cache at redis://:redis-Pa55word@cache:6379/0", "redis-Pa55word"),
    "basic-auth url": ("hook https://deploy:basic-Pa55@example.com/hook", "basic-Pa55"),
    "jwt alone": (f"issued {JWT} for the job", JWT),
    "slack": ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-12345"),
    "github classic": (
        "git token ghp_16C7e42F292c6912E7710c838347Ae178B4a used",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    "github fine-grained": (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
    ),
    "gitlab": ("gitlab glpat-xK9d2Fq7LmN3pR8sT1vW", "glpat-xK9d2Fq7LmN3pR8sT1vW"),
    "google api key": (
        "maps key AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    ),
    "stripe": ("charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    "netrc": ("machine api.example.com login deploy password n3trc-Pa55word", "n3trc-Pa55word"),
    "private key": (
        f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
    ),
    "cookie header": (
        "Cookie: theme=dark; sessionid=sess-abcdef0123456789",
        "sess-abcdef0123456789",
    ),
    "settings secret key": (
        "SECRET_KEY = 'django-insecure-0123456789abcdef'",
        "django-insecure-0123456789abcdef",
    ),
    "settings db password": (
        "DATABASES = {'default': {'NAME': 'prod', 'PASSWORD': 'db-Pa55-settings'}}",
        "db-Pa55-settings",
    ),
    "settings email password": (
        "EMAIL_HOST_PASSWORD = 'smtp-Pa55-settings'",
        "smtp-Pa55-settings",
    ),
    "dumpdata session": (
        # Its pk is the session key too: no shape tells it, hence dumpdata's tail is never kept.
        '{"model": "sessions.session", "fields": {"session_key": '
        '"k2x9q0v8w7e6r5t4y3u2i1o0p9a8s7d6"}}',
        "k2x9q0v8w7e6r5t4y3u2i1o0p9a8s7d6",
    ),
    "yaml client secret": ('client_secret: "cs-0123456789abcdef"', "cs-0123456789abcdef"),
    "api key header": ("X-Api-Key: xapikey-0123456789", "xapikey-0123456789"),
    "json token": ('{"refresh_token": "rt-9f8e7d6c5b4a"}', "rt-9f8e7d6c5b4a"),
}

#: The command's options that hold secrets, as passed on its command line.
OPTIONS: dict[str, str] = {
    "pwd": "pwd-Secret-777",
    "bearer": "bearer-opt-8888",
    "cookie": "sessionid=cookie-opt-9999",
    "private_token": "s3cr3t/k+y \u00e9t\u00e9-unicode",  # printed as bytes repr, URL-quoted
}
#: What the command prints of its options, beside the corpus (every spelling of them).
OPTION_SECRETS = ["pwd-Secret-777", "bearer-opt-8888", "cookie-opt-9999", "s3cr3t/k+y"]

LOOKALIKES: list[str] = [
    "processed 3 items in 13 seconds, batch 33",
    "password reset email sent to 12 users",
    "token count: 42",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "run 123e4567-e89b-12d3-a456-426614174000",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "docs at https://example.com/docs?page=2&sort=name",
    "mail ops@example.com about it",
    "lookup failed: KeyError: 'missing_column'",
    "status at http://localhost:8000/status",
    "total: 1234.56 EUR at 10:00:00",
    "basic authentication is enabled",
]

#: Every string that must never appear.
ALL_SECRETS: list[str] = [secret for _, secret in SECRETS.values()] + OPTION_SECRETS


def leaked(text: str) -> list[str]:
    """Return the secrets found in ``text`` (empty: none)."""
    return [secret for secret in ALL_SECRETS if secret in text]


def lost(text: str) -> list[str]:
    """Return the look-alikes missing from ``text`` (empty: all there)."""
    return [lookalike for lookalike in LOOKALIKES if lookalike not in text]

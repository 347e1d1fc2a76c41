"""Passwords, tokens and login throttling.

Passwords are hashed with argon2id (argon2-cffi); sessions are short-lived HS256 JWTs (pyjwt)
signed with ``settings.api.session_secret``. There is no default secret: outside the embedded
demo a missing or placeholder secret stops start-up (``require_secret``); the demo gets a random
one from ``with_demo_secret``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from huiyin.config.errors import ConfigError
from huiyin.config.settings import Settings

ALGORITHM = "HS256"
ISSUER = "huiyin"
MIN_SECRET_LENGTH = 32
_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "changethis", "password", "huiyin"}

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's RFC 9106 defaults unless ``hasher`` is given;
    verification reads the parameters from the hash itself)."""
    return (hasher or _hasher).hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True if ``password`` matches; an unknown user (None) still spends the hashing time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def random_password(length: int = 16) -> str:
    """A random password for demo accounts (URL-safe characters)."""
    return secrets.token_urlsafe(length)[:length]


def require_secret(settings: Settings) -> str:
    """The signing secret, or ConfigError if it is missing, short or a placeholder."""
    secret = settings.api.session_secret
    if not secret:
        raise ConfigError(
            "未设置会话密钥 session secret is required (generate one: openssl rand -hex 32)",
            key="api.session_secret",
            source="environment variable HUIYIN_API__SESSION_SECRET",
        )
    if secret.strip().lower() in _PLACEHOLDERS or len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"会话密钥太弱 session secret must be at least {MIN_SECRET_LENGTH} characters and not a placeholder",
            key="api.session_secret",
        )
    return secret


def with_demo_secret(settings: Settings) -> Settings:
    """Settings with a random session secret if none is set (the embedded demo only)."""
    if settings.api.session_secret:
        return settings
    api = settings.api.model_copy(update={"session_secret": secrets.token_hex(32)})
    return settings.model_copy(update={"api": api})


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: who, and until when."""

    username: str
    expires_at: datetime


class TokenError(Exception):
    """The token is missing, malformed, expired or not ours (the API answers 401)."""


class TokenService:
    """Issues and checks session tokens."""

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, username: str, *, now: datetime | None = None) -> str:
        """A signed token for ``username`` valid for ``ttl_s`` seconds."""
        now = now or datetime.now(UTC)
        claims = {
            "sub": username,
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_s)).timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def check(self, token: str) -> TokenClaims:
        """The claims of a valid token, else TokenError."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["sub", "exp", "iat"]}
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenError("token has no subject")
        return TokenClaims(username=sub, expires_at=datetime.fromtimestamp(claims["exp"], UTC))


class LoginThrottle:
    """Failed logins per (username, client address) in a sliding minute.

    When the limit is reached every attempt for that pair is refused until the oldest failure
    leaves the window, correct password or not, so guessing cannot continue at full speed.
    """

    def __init__(self, per_minute: int, *, window_s: float = 60.0, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before the next attempt is allowed (0: allowed now)."""
        with self._lock:
            times = self._prune((username.lower(), address))
            if len(times) < self.per_minute:
                return 0
            return max(1, int(times[0] + self.window_s - self._clock()) + 1)

    def failed(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        with self._lock:
            key = (username.lower(), address)
            self._prune(key).append(self._clock())
            if len(self._failures) > 10_000:  # bound memory under a spray of usernames
                for k in [k for k, v in self._failures.items() if not v]:
                    del self._failures[k]

    def succeeded(self, username: str, address: str) -> None:
        """A correct login clears the pair's failures."""
        with self._lock:
            self._failures.pop((username.lower(), address), None)

    def _prune(self, key: tuple[str, str]) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        horizon = self._clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return times

"""The server's guards: signed session cookies, CSRF tokens, response headers, sign-in limits.

- A session is a cookie signed with the server's key (``itsdangerous``): the coach's name,
  the version of the coach's stream when they signed in, and the session's CSRF token. It
  is HttpOnly, SameSite=Strict, and expires ``SESSION_HOURS`` after the sign-in (the
  signature's own timestamp, checked on every request). Every request also reads the
  coach's stream: a new password, a disabling, anything recorded of the coach since the
  sign-in ends the session (``services.access.still_valid``).
- Every form carries the session's CSRF token; every POST is refused without it, and when
  its ``Origin`` is another site's. The sign-in form, before there is a session, has its
  own token in a short-lived signed cookie (no sign-in from another site's page).
- Every response says: a Content-Security-Policy without inline script (scripts only from
  the server itself), no framing, no MIME sniffing, no referrer to other sites, no caching.
- A check-in page (``web.checkin``) has no session: its link's token is the secret, and its
  form carries a stamp signed with the server's key and bound to that token; its requests are
  limited per link and per address like sign-ins.
- Sign-in attempts are limited per client address (attempts, and failed ones) and per coach
  name (failed ones), in this process (each of ``--workers N`` processes keeps its own count).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "coachledger_session"
SIGNIN_COOKIE = "coachledger_signin"
SESSION_HOURS = 12
SIGNIN_MINUTES = 30  # how long a sign-in form stays good
CHECKIN_HOURS = 12  # how long a rendered check-in page's stamp stays good
CSRF_FIELD = "csrf"

# No inline script anywhere: scripts and styles come from the server's own /static files.
# Charts are inline SVG (markup, not script); images only from the server or data: URLs.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# The downloaded report is one self-contained file: its own inline CSS, and no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
NO_STORE = (b"cache-control", b"no-store")
STATIC_CACHE = (b"cache-control", b"public, max-age=3600")  # the stylesheets and app.js: no client data


class Session(NamedTuple):
    coach: str
    version: int  # the coach's stream version at sign-in
    csrf: str


class Tokens:
    """Signs and checks the session cookie and the sign-in form's token with the server's key."""

    def __init__(self, key: bytes) -> None:
        self._session = URLSafeTimedSerializer(key, salt="coachledger.session")
        self._signin = URLSafeTimedSerializer(key, salt="coachledger.signin")
        self._checkin = URLSafeTimedSerializer(key, salt="coachledger.checkin")

    def new_session(self, coach: str, version: int) -> tuple[str, Session]:
        session = Session(coach, version, secrets.token_urlsafe(32))
        return self._session.dumps([session.coach, session.version, session.csrf]), session

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie holds, if it is ours, whole and not expired."""
        if not cookie:
            return None
        try:
            coach, version, csrf = self._session.loads(cookie, max_age=SESSION_HOURS * 3600)
        except (BadSignature, ValueError, TypeError):
            return None
        if not (isinstance(coach, str) and isinstance(version, int) and isinstance(csrf, str)):
            return None
        return Session(coach, version, csrf)

    def new_signin(self) -> tuple[str, str]:
        """(cookie value, form token) for a sign-in form."""
        token = secrets.token_urlsafe(32)
        return self._signin.dumps(token), token

    def new_checkin(self, digest: str) -> str:
        """A check-in page's stamp: a nonce bound to the link's token hash, signed and dated."""
        return self._checkin.dumps([digest, secrets.token_urlsafe(16)])

    def checkin_stamp_ok(self, stamp: Any, digest: str) -> bool:
        if not isinstance(stamp, str) or not stamp:
            return False
        try:
            bound, _nonce = self._checkin.loads(stamp, max_age=CHECKIN_HOURS * 3600)
        except (BadSignature, ValueError, TypeError):
            return False
        return same_token(digest, bound)

    def signin_token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            token = self._signin.loads(cookie, max_age=SIGNIN_MINUTES * 60)
        except (BadSignature, ValueError, TypeError):
            return None
        return token if isinstance(token, str) else None


def same_token(expected: str | None, given: Any) -> bool:
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def same_origin(headers: Any, host: str) -> bool:
    """A POST's ``Origin`` (when the browser sends one) is this server: its ``Host``, or the host a
    proxy in front says it was asked for (``X-Forwarded-Host``)."""
    origin = headers.get("origin")
    if origin is None:
        return True  # SameSite=Strict cookies and the CSRF token guard the rest
    asked = origin.split("://", 1)[-1]
    return asked in (host, headers.get("x-forwarded-host"))


def cookie_header(name: str, value: str, *, max_age: int, secure: bool) -> str:
    flags = f"; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
    return f"{name}={value}{flags}"


# -- response headers ----------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware: every response gets ``HEADERS`` (a response's own CSP wins) and, unless
    it says otherwise, ``Cache-Control: no-store`` (pages hold clients' data; the static files,
    which hold none, are kept an hour)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in HEADERS if n not in present]
                if b"cache-control" not in present:
                    static = scope.get("path", "").startswith("/static/")
                    headers.append(STATIC_CACHE if static else NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


# -- sign-in limits ------------------------------------------------------------------------


class SignInLimits:
    """Sign-in attempts within ``window`` seconds, in this process: at most ``attempts`` from one
    client address, of which at most ``failures`` may fail, and at most ``per_name`` failed ones
    for one coach name. A success does not clear an address's failures (one good account must
    not buy guesses at the others); it clears its name's."""

    def __init__(
        self, attempts: int = 300, failures: int = 20, per_name: int = 5, window: float = 600.0
    ) -> None:
        self.attempts, self.failures, self.per_name, self.window = attempts, failures, per_name, window
        self._tried: dict[str, deque[float]] = {}
        self._failed: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, book: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = book.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, address: str, name: str) -> int:
        """Seconds to wait before this attempt is allowed (0: go ahead; the attempt is counted)."""
        now = time.monotonic()
        with self._lock:
            if len(self._tried) > 10_000 or len(self._failed) > 10_000:  # memory stays bounded
                self._tried.clear()
                self._failed.clear()
            tried = self._recent(self._tried, address, now)
            for times, most in (
                (tried, self.attempts),
                (self._recent(self._failed, address, now), self.failures),
                (self._recent(self._failed, "name:" + name.lower(), now), self.per_name),
            ):
                if len(times) >= most:
                    return int(times[0] + self.window - now) + 1
            tried.append(now)
            return 0

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(self._failed, address, now).append(now)
            self._recent(self._failed, "name:" + name.lower(), now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failed.pop("name:" + name.lower(), None)

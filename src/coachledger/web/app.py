"""The ASGI application of ``coachledger serve``: routes, guards, and one ``Services`` per process.

``create_app`` builds it for a store and a session key; ``from_environment`` is what each
worker process of ``uvicorn --workers N`` calls (``coachledger serve`` sets the environment:
the store, and the file holding the session key).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from coachledger.settings import Settings
from coachledger.web.auth import not_found, refused
from coachledger.web.checkin import redact_access_log
from coachledger.web.keyfile import read_key
from coachledger.web.routes import ROUTES
from coachledger.web.security import SecurityHeaders
from coachledger.web.state import Services

KEY_FILE_ENV = "COACHLEDGER_SESSION_KEY_FILE"
THREADS_ENV = "COACHLEDGER_SERVE_THREADS"
THREADS = 4  # requests answered at once per process (each thread keeps one store connection)


def create_app(settings: Settings, key: bytes, threads: int = THREADS) -> Starlette:
    services = Services(settings, key)
    redact_access_log()  # in each worker process: no check-in token in the access log

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        services.start_following()
        gc.collect()
        gc.freeze()  # what start-up made stays: the collector no longer walks it on every page
        try:
            yield
        finally:
            services.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return not_found(request)
        if status == 405:
            return refused(request, "This address does not take that method.", 405)
        return refused(request, "This request could not be answered.", status)

    async def server_error(request: Request, exc: Exception) -> Response:  # the server logs the error
        return refused(request, "Something went wrong on the server; it is in the server's log.", 500)

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.services = services
    return app


def from_environment() -> Starlette:
    """The application of one worker process, from what ``coachledger serve`` put in its environment."""
    settings = Settings.from_values(None, "coachledger serve")
    key = read_key(Path(os.environ[KEY_FILE_ENV]))
    return create_app(settings, key, int(os.environ.get(THREADS_ENV) or THREADS))

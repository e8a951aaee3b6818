"""Installing the pages on the API application."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from feeds.pages.dashboard import install_dashboard_routes
from feeds.pages.portal import install_portal_routes
from feeds.pages.web import STATIC_DIR, PageError, error_page
from feeds.webhooks.service import Webhooks
from worker.failures import Failures
from worker.submit import Submitter


def install_pages(
    app: FastAPI, submitter: Submitter, webhooks: Webhooks, wake_delivery: Callable[[], None]
) -> None:
    """Add the portal, the dashboard and their static files to ``app``."""

    @app.exception_handler(PageError)
    async def page_error(_: Request, error: PageError) -> HTMLResponse:
        return error_page(error)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_portal_routes(app, webhooks, wake_delivery)
    install_dashboard_routes(app, submitter, webhooks, Failures(submitter), wake_delivery)

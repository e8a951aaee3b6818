"""HTTP routes for failures (all need the API token); see :mod:`worker.failures`.

GET    /v1/failures                 failures, newest first (?kind=articles|rejected|tasks|all,
                                        ?limit=1..1000, ?since=RFC 3339 time)
GET    /v1/failures/{id}            one failure: raw input (``raw_base64``, and
                                        ``raw_preview`` when it is UTF-8) or, for a task,
                                        its arguments and traceback (secrets scrubbed)
POST   /v1/failures/{id}/retry      202: reprocess, resubmit or resend (422 if a
                                        refused input is still invalid, 409 if not failed)
DELETE /v1/failures/{id}            204: forget it

Ids: ``sub_<submission id>``, ``rej_<entry id>``, ``task_<entry id>``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from feeds.api_base import ApiError
from worker.core.errors import InputError
from worker.failures import KINDS, FailureConflictError, FailureNotFoundError, Failures
from worker.submit import Submitter


def install_failure_routes(
    app: FastAPI,
    submitter: Submitter,
    require_token: Callable[[Request], None],
    failures: Failures | None = None,
) -> None:
    """Add the routes (``failures`` defaults to a service over ``submitter``)."""
    service = failures or Failures(submitter)
    guarded = [Depends(require_token)]

    @app.get("/v1/failures", dependencies=guarded)
    def list_failures(
        kind: str = "all", limit: int = 50, since: str | None = None
    ) -> dict[str, Any]:
        """Failed articles, refused inputs and failed tasks, newest first."""
        if kind not in KINDS:
            raise ApiError(422, "invalid_request", f"kind must be one of {', '.join(KINDS)}")
        if not 1 <= limit <= 1000:
            raise ApiError(422, "invalid_request", "limit must be from 1 to 1000")
        found = _call(service.list_failures, kind, limit=limit, since=_timestamp(since, "since"))
        return {"failures": found}

    @app.get("/v1/failures/{failure_id}", dependencies=guarded)
    def show_failure(failure_id: str) -> dict[str, Any]:
        """One failure with its raw input, or a task's arguments and scrubbed traceback."""
        shown: dict[str, Any] = _call(service.show, failure_id)
        return shown

    @app.post("/v1/failures/{failure_id}/retry", status_code=202, dependencies=guarded)
    def retry_failure(failure_id: str) -> JSONResponse:
        """Try again: a failed article is reprocessed, a refused input resubmitted, a task
        sent again with the same arguments."""
        outcome: dict[str, Any] = _call(service.retry, failure_id)
        return JSONResponse(outcome, status_code=202)

    @app.delete("/v1/failures/{failure_id}", status_code=204, dependencies=guarded)
    def discard_failure(failure_id: str) -> Response:
        """Forget a failure (a failed article's submission stays, marked discarded)."""
        _call(service.discard, failure_id)
        return Response(status_code=204)


def _call(function: Callable[..., Any], *args: object, **kwargs: object) -> Any:
    """Run a service call, turning its typed errors into HTTP answers."""
    try:
        return function(*args, **kwargs)
    except FailureNotFoundError as error:
        raise ApiError(404, "not_found", str(error)) from None
    except FailureConflictError as error:
        raise ApiError(409, "conflict", str(error)) from None
    except InputError as error:
        raise ApiError(
            422, "invalid_input", str(error), problem=error.problem, line=error.line
        ) from None


def _timestamp(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ApiError(422, "invalid_request", f"{name} must be an RFC 3339 time with a zone")
    return parsed.timestamp()

"""Resilience settings of HTTP routes: retry policies and fault injection (VirtualService)."""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.virtualservice import (
    FaultAbort,
    FaultDelay,
    HTTPFaultInjection,
    HTTPRetry,
)
from sailmesh.config.validation.common import (
    check_deprecated_percent,
    check_duration,
    check_one_of,
    check_percentage,
    fields_set,
)

RETRY_ON = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "reset-before-request",
        "connect-failure",
        "envoy-ratelimited",
        "retriable-4xx",
        "refused-stream",
        "retriable-status-codes",
        "retriable-headers",
        "http3-post-connect-failure",
        # gRPC policies
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)
GRPC_CODES = frozenset(
    {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)


def check_retries(report: Report, path: str, retries: HTTPRetry | None) -> None:
    if retries is None:
        return
    attempts = retries.attempts or 0
    if attempts < 0:
        report.error(
            join_path(path, "attempts"), "attempts must not be negative (0 disables retries)"
        )
    elif attempts == 0 and (
        retries.per_try_timeout is not None
        or retries.retry_on
        or retries.retry_remote_localities is not None
    ):
        report.warn(
            join_path(path, "attempts"),
            "retry policy is configured but attempts is 0, "
            "which disables retries; set attempts >= 1",
        )
    check_duration(report, join_path(path, "perTryTimeout"), retries.per_try_timeout)
    check_duration(report, join_path(path, "backoff"), retries.backoff)
    for policy in (retries.retry_on or "").split(","):
        policy = policy.strip()
        if not policy or policy in RETRY_ON:
            continue
        if policy.isdigit() and 100 <= int(policy) <= 599:
            continue
        report.error(
            join_path(path, "retryOn"),
            f"{policy!r} is not a valid retryOn policy: use "
            "Envoy retry policies (e.g. 5xx, gateway-error, reset, connect-failure, "
            "refused-stream, retriable-4xx, unavailable, cancelled) or HTTP status codes",
        )


def check_fault(report: Report, path: str, fault: HTTPFaultInjection | None) -> None:
    if fault is None:
        return
    if fault.abort is None and fault.delay is None:
        report.error(path, "fault injection needs an abort and/or a delay")
    if fault.delay is not None:
        _check_delay(report, join_path(path, "delay"), fault.delay)
    if fault.abort is not None:
        _check_abort(report, join_path(path, "abort"), fault.abort)


def _check_delay(report: Report, at: str, delay: FaultDelay) -> None:
    check_percentage(report, join_path(at, "percentage"), delay.percentage)
    check_deprecated_percent(report, at, "percent", "percentage", delay.percent)
    if delay.exponential_delay is not None:
        report.error(
            join_path(at, "exponentialDelay"),
            "exponentialDelay is not supported; use fixedDelay",
        )
    elif delay.fixed_delay is None:
        report.error(join_path(at, "fixedDelay"), "required field is missing (e.g. fixedDelay: 5s)")
    check_duration(report, join_path(at, "fixedDelay"), delay.fixed_delay)


def _check_abort(report: Report, at: str, abort: FaultAbort) -> None:
    check_percentage(report, join_path(at, "percentage"), abort.percentage)
    _check_abort_has_one_status(report, at, abort)
    if abort.http_status is not None and not 200 <= abort.http_status <= 599:
        report.error(
            join_path(at, "httpStatus"),
            f"HTTP status {abort.http_status} must be in the range 200..599",
        )
    if abort.grpc_status is not None and abort.grpc_status not in GRPC_CODES:
        report.error(
            join_path(at, "grpcStatus"),
            f"unknown gRPC status {abort.grpc_status!r}: "
            "use a code name such as UNAVAILABLE or INTERNAL",
        )
    if abort.http2_error is not None:
        report.error(
            join_path(at, "http2Error"),
            "HTTP/2 abort fault injection is not supported; use httpStatus",
        )


def _check_abort_has_one_status(report: Report, at: str, abort: FaultAbort) -> None:
    check_one_of(
        report,
        at,
        fields_set(
            ("httpStatus", abort.http_status),
            ("grpcStatus", abort.grpc_status),
            ("http2Error", abort.http2_error),
        ),
        missing="abort needs httpStatus (e.g. 503) or grpcStatus (e.g. UNAVAILABLE)",
        many="only one of httpStatus, grpcStatus or http2Error may be set",
    )


__all__ = ["GRPC_CODES", "RETRY_ON", "check_fault", "check_retries"]

"""Turning botocore exceptions into the shared probe errors (:mod:`auditor.errors`), with
one-line reasons a reader can act on."""

from __future__ import annotations

from auditor.errors import (
    AccessDenied,
    Forbidden,
    ListingCut,
    NotThisApi,
    ProbeError,
    RateLimited,
    TimedOut,
    TooLarge,
    Unreachable,
    network_reason,
)

DENIED = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "UnauthorizedException", "Forbidden", "403",
}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
INVALID = {
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
    "InvalidAccessKeyId", "AuthFailure", "InvalidSignatureException", "IncompleteSignature",
}
THROTTLED = {
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "SlowDown", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "LimitExceededException",
}
NOT_ENABLED = {"OptInRequired", "InvalidRegion"}


def classify(exc: BaseException, action: str, endpoint: str | None = None,
             attempts: int | None = None) -> ProbeError:
    """``action`` is the IAM action of the call (``sagemaker:ListEndpoints``). ``fatal``:
    no other call can succeed either (expired or unknown keys, no credentials, an endpoint
    that cannot be reached or is not AWS).

    Wording note: reasons never put a word right after "credentials" (the redactor would
    take it for a secret value and mask it).
    """
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    from auditor.limits import EndlessListing, ResponseTooLarge

    where = endpoint or "AWS"
    if isinstance(exc, ResponseTooLarge):
        return TooLarge(f"{action}: {exc}")
    if isinstance(exc, EndlessListing | bx.PaginationError):
        return ListingCut(f"{action}: listing stopped: {exc}")
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in DENIED or (status == 403 and code not in EXPIRED | INVALID):
            return Forbidden(f"{action} denied: grant this IAM action (docs/permissions/aws-readonly-policy.json)", status=403)
        if code in EXPIRED:
            return AccessDenied("the AWS session has expired (ExpiredToken); log in again or refresh the session token")
        if code in INVALID:
            return AccessDenied(f"AWS rejected the access key ({code}): it is unknown, or its secret is wrong")
        if code in THROTTLED:
            tries = f" after {attempts} attempts" if attempts else ""
            return RateLimited(f"{action} throttled by AWS{tries}; retry later or raise max_attempts")
        if code in NOT_ENABLED:
            return ProbeError(f"{action}: region not enabled for this account ({code})")
        if status and int(status) >= 500 or code in {"InternalFailure", "ServiceUnavailable", "500", "501"}:
            return ProbeError(f"{action} failed: server error (HTTP {status or code})")
        return ProbeError(f"{action} failed: {code or status}")
    if isinstance(exc, bx.NoCredentialsError):
        return AccessDenied("found no AWS credentials; set profile or role_arn, or configure the default chain (environment, SSO, instance role)")
    if isinstance(exc, bx.ProfileNotFound):
        return AccessDenied(f"AWS profile not found: {exc.kwargs.get('profile', '')}")
    if isinstance(exc, (bx.PartialCredentialsError, bx.CredentialRetrievalError)):
        return AccessDenied(f"the AWS credential set is incomplete or unreadable ({type(exc).__name__})")
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return TimedOut(f"{action}: {where} timed out", fatal=False)  # one slow call
    if isinstance(exc, bx.EndpointConnectionError):
        return Unreachable(f"cannot connect to {where}: {network_reason(exc)}")
    if isinstance(exc, (ResponseParserError, ValueError, KeyError)):
        return NotThisApi(f"{where} does not answer like an AWS API ({action} returned an unreadable response)")
    if isinstance(exc, bx.BotoCoreError):
        return ProbeError(f"{action} failed: {type(exc).__name__}: {exc}")
    return ProbeError(f"{action} failed: {type(exc).__name__}: {exc}")

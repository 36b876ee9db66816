"""Turning botocore exceptions into one-line reasons a reader can act on."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Failure:
    """What went wrong with one call. ``fatal``: no other call can succeed either."""

    kind: str  # denied | expired | invalid | no_credentials | throttled | unreachable | not_aws | region | error
    reason: str
    fatal: bool = False


def classify(exc: BaseException, action: str, endpoint: str | None = None,
             attempts: int | None = None) -> Failure:
    """``action`` is the IAM action of the call (``sagemaker:ListEndpoints``).

    Wording note: reasons never put a word right after "credentials" (the redactor would
    take it for a secret value and mask it).
    """
    import botocore.exceptions as bx
    from botocore.parsers import ResponseParserError

    from auditor.limits import EndlessListing, ResponseTooLarge

    where = endpoint or "AWS"
    if isinstance(exc, ResponseTooLarge):
        return Failure("error", f"{action}: {exc}")
    if isinstance(exc, EndlessListing | bx.PaginationError):
        return Failure("error", f"{action}: listing stopped: {exc}")
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in DENIED or (status == 403 and code not in EXPIRED | INVALID):
            return Failure("denied", f"{action} denied: grant this IAM action (docs/permissions/aws-readonly-policy.json)")
        if code in EXPIRED:
            return Failure("expired", "the AWS session has expired (ExpiredToken); log in again or refresh the session token", True)
        if code in INVALID:
            return Failure("invalid", f"AWS rejected the access key ({code}): it is unknown, or its secret is wrong", True)
        if code in THROTTLED:
            tries = f" after {attempts} attempts" if attempts else ""
            return Failure("throttled", f"{action} throttled by AWS{tries}; retry later or raise max_attempts")
        if code in NOT_ENABLED:
            return Failure("region", f"{action}: region not enabled for this account ({code})")
        if status and int(status) >= 500 or code in {"InternalFailure", "ServiceUnavailable", "500", "501"}:
            return Failure("error", f"{action} failed: server error (HTTP {status or code})")
        return Failure("error", f"{action} failed: {code or status}")
    if isinstance(exc, bx.NoCredentialsError):
        return Failure("no_credentials", "found no AWS credentials; set profile or role_arn, or configure the default chain (environment, SSO, instance role)", True)
    if isinstance(exc, bx.ProfileNotFound):
        return Failure("no_credentials", f"AWS profile not found: {exc.kwargs.get('profile', '')}", True)
    if isinstance(exc, (bx.PartialCredentialsError, bx.CredentialRetrievalError)):
        return Failure("no_credentials", f"the AWS credential set is incomplete or unreadable ({type(exc).__name__})", True)
    if isinstance(exc, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return Failure("unreachable", f"{action}: {where} timed out")
    if isinstance(exc, bx.EndpointConnectionError):
        return Failure("unreachable", f"cannot connect to {where}", True)
    if isinstance(exc, (ResponseParserError, ValueError, KeyError)):
        return Failure("not_aws", f"{where} does not answer like an AWS API ({action} returned an unreadable response)", True)
    if isinstance(exc, bx.BotoCoreError):
        return Failure("error", f"{action} failed: {type(exc).__name__}: {exc}")
    return Failure("error", f"{action} failed: {type(exc).__name__}: {exc}")

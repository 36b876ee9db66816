"""Every ACTIVE account of an AWS Organization, each audited through a role assumed in it.

The credentials of the entry (``profile``, else boto3's default chain) must be allowed
``organizations:ListAccounts`` — the management account or a delegated administrator — and
to assume ``role_name`` in each member account. The account those credentials belong to is
audited with them directly (the role usually does not exist there). Calls: one
``sts:GetCallerIdentity``, then ``organizations:ListAccounts`` pages. boto3 is imported only
when an entry asks for this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from auditor.discovery.base import Found, Result, Selector, Spec
from auditor.probe import ProbeContext
from auditor.redact import register_secret

NAME_FORMAT = "{name}"
FIELDS = ("id", "name")
GENERATED = ("role_arn",)
PAGE_SIZE = 20  # the API's largest page


class AwsSpec(Spec):
    organization: Literal[True]
    #: the role assumed in each member account (its path, if any, included: ``ops/Audit``)
    role_name: str = Field(default="OrganizationAccountAccessRole",
                           pattern=r"^[\w+=,.@-]+(/[\w+=,.@-]+)*$")
    #: globs over account ids and names
    include: list[str] = ["*"]
    exclude: list[str] = []

    def selector(self) -> Selector:
        return Selector(tuple(self.include), tuple(self.exclude))


SPEC = AwsSpec


def describe(spec: AwsSpec) -> str:
    return f"accounts of the AWS Organization (role {spec.role_name})"


def placeholder(spec: AwsSpec) -> dict[str, Any]:
    return {"role_arn": f"arn:aws:iam::000000000000:role/{spec.role_name}"}


def identity(settings: Any) -> tuple | None:
    arn = settings.get("role_arn") if isinstance(settings, Mapping) else getattr(settings, "role_arn", None)
    return ("aws", arn) if arn else None


def _message(exc: Exception) -> str:
    """One line for an AWS failure; never the credentials (the caller registered them)."""
    from botocore.exceptions import ClientError, NoCredentialsError, ProfileNotFound

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code, text = err.get("Code", "Error"), err.get("Message", "")
        op = exc.operation_name
        if code in ("AccessDenied", "AccessDeniedException"):
            return f"AWS Organizations access denied ({op}): {text}".rstrip(": ")
        if code == "AWSOrganizationsNotInUseException":
            return "the account is not a member of an AWS Organization"
        return f"{op} failed: {code}: {text}".rstrip(": ")
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials (set profile, or the environment / instance role)"
    if isinstance(exc, ProfileNotFound):
        return f"AWS {exc}"
    return f"{type(exc).__name__}: {exc}"


def _register(session: Any) -> None:
    creds = session.get_credentials()
    if creds is not None:
        frozen = creds.get_frozen_credentials()
        for value in (frozen.access_key, frozen.secret_key, frozen.token):
            register_secret(value)


def _accounts(org: Any, ctx: ProbeContext, limit: int) -> tuple[list[dict], str | None]:
    """Every account, paginated; stops on a repeated token or past ``limit`` accounts."""
    accounts: list[dict] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        ctx.check()
        page = org.list_accounts(MaxResults=PAGE_SIZE, **({"NextToken": token} if token else {}))
        accounts += page.get("Accounts") or []
        token = page.get("NextToken")
        if not token:
            return accounts, None
        if token in seen:
            return accounts, "ListAccounts repeated a page token: the listing was cut there"
        if len(accounts) > limit * 2 + PAGE_SIZE:  # inactive ones are listed too
            return accounts, f"more than {len(accounts)} accounts listed: the listing was cut"
        seen.add(token)


def discover(spec: AwsSpec, settings: Any, ctx: ProbeContext) -> Result:
    result = Result()
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        from probes.aws.session import DEFAULT_REGION, client_config, make_client
    except ImportError as exc:
        result.problems.append(f"boto3 is not installed ({exc.name}): pip install "
                               "'mlops-auditor[aws]'")
        return result
    try:
        session = boto3.Session(profile_name=settings.profile) if settings.profile else boto3.Session()
        _register(session)
        region = session.region_name or DEFAULT_REGION
        config = client_config(settings, ctx)
        me = make_client(session, "sts", region, settings, config).get_caller_identity()
        org = make_client(session, "organizations", region, settings, config)
        accounts, cut = _accounts(org, ctx, spec.max_targets)
    except (BotoCoreError, ClientError) as exc:
        result.problems.append(_message(exc))
        return result
    if cut:
        result.problems.append(cut)
    if not accounts:  # AWS always lists the management account; moto lists none outside one
        result.problems.append("ListAccounts listed no account: the account is not a member of "
                               "an AWS Organization")
    own, partition = me.get("Account"), (me.get("Arn") or "arn:aws:").split(":")[1] or "aws"
    select = spec.selector()
    for acct in sorted(accounts, key=lambda a: a.get("Id", "")):
        account_id, name = str(acct.get("Id", "")), str(acct.get("Name") or acct.get("Id", ""))
        if (acct.get("State") or acct.get("Status")) != "ACTIVE" or not account_id:
            continue
        if not select.wants((account_id, name)):
            continue
        role = {} if account_id == own else {
            "role_arn": f"arn:{partition}:iam::{account_id}:role/{spec.role_name}"}
        result.found.append(Found(fields={"id": account_id, "name": name},
                                  subjects=(account_id, name), settings=role, key=account_id))
    return result

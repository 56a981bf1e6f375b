"""infra/aws: the IAM policy grants exactly the S3 actions tasks/storage/store.py calls; the bucket
policy is TLS-only and encryption-enforcing without rejecting the store's own requests.

The boto3 operations are read from the store's source with `ast`, so a new call (a delete, a
versioned read, a copy) fails here until the policy grants it, and a permission the code no longer
needs fails here too.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "tasks" / "storage" / "store.py"
AWS = ROOT / "infra" / "aws"
BUCKET = "studyflow-data"
PREFIX = "study"

# boto3 S3 client operation -> IAM actions it needs. Keyword arguments that change the action
# are in KWARG_ACTIONS. An operation missing here fails test_every_store_operation_is_mapped:
# look its permission up in the S3 API reference ("Permissions") and add it.
OP_ACTIONS: dict[str, set[str]] = {
    "put_object": {"s3:PutObject"},
    "get_object": {"s3:GetObject"},
    "head_object": {"s3:GetObject"},
    "list_objects_v2": {"s3:ListBucket"},
    "list_objects": {"s3:ListBucket"},
    "head_bucket": {"s3:ListBucket"},
    "list_object_versions": {"s3:ListBucketVersions"},
    "delete_object": {"s3:DeleteObject"},
    "delete_objects": {"s3:DeleteObject"},
    "copy_object": {"s3:GetObject", "s3:PutObject"},
    "create_multipart_upload": {"s3:PutObject"},
    "upload_part": {"s3:PutObject"},
    "complete_multipart_upload": {"s3:PutObject"},
    "abort_multipart_upload": {"s3:AbortMultipartUpload"},
    "list_multipart_uploads": {"s3:ListBucketMultipartUploads"},
    "get_object_tagging": {"s3:GetObjectTagging"},
    "put_object_tagging": {"s3:PutObjectTagging"},
    "get_bucket_versioning": {"s3:GetBucketVersioning"},
    "get_bucket_location": {"s3:GetBucketLocation"},
    "create_bucket": {"s3:CreateBucket"},
}
# (operation, keyword) -> actions that keyword adds (or replaces, for versioned access).
KWARG_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("get_object", "VersionId"): {"s3:GetObjectVersion"},
    ("head_object", "VersionId"): {"s3:GetObjectVersion"},
    ("delete_object", "VersionId"): {"s3:DeleteObjectVersion"},
    ("copy_object", "CopySource"): set(),  # a dict with VersionId would need GetObjectVersion
    ("put_object", "Tagging"): {"s3:PutObjectTagging"},
    ("put_object", "ACL"): {"s3:PutObjectAcl"},
    ("put_object", "ObjectLockMode"): {"s3:PutObjectRetention"},
    ("put_object", "ObjectLockLegalHoldStatus"): {"s3:PutObjectLegalHold"},
}
# Versioned access replaces the unversioned action.
REPLACES = {"s3:GetObjectVersion": "s3:GetObject", "s3:DeleteObjectVersion": "s3:DeleteObject"}
BUCKET_LEVEL = {
    "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads",
    "s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:CreateBucket",
}


@dataclass(frozen=True)
class Call:
    """One boto3 client call found in the source."""

    op: str
    keywords: frozenset[str]  # explicit keyword names
    has_double_star: bool  # **kwargs we cannot see into statically
    double_star_keys: frozenset[str]  # keys of dict literals a `**name` may hold
    line: int


def _is_client(node: ast.expr) -> bool:
    """`self.client`, `self._client`, `client` or `s3`."""
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr in (
            "client", "_client", "s3",
        )
    return isinstance(node, ast.Name) and node.id in ("client", "s3", "s3_client")


def _dict_keys_assigned(func: ast.AST, name: str) -> frozenset[str]:
    """Keys of every dict literal assigned to `name` in a function (e.g. `cond = {...} if … else {...}`)."""
    keys: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value:
                for sub in ast.walk(node.value):
                    if isinstance(sub, ast.Dict):
                        keys |= {k.value for k in sub.keys if isinstance(k, ast.Constant)}
    return frozenset(keys)


def extract_calls(source: str) -> list[Call]:
    """Every boto3 client operation the source calls, paginators and waiters included."""
    tree = ast.parse(source)
    calls: list[Call] = []
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    def enclosing(node: ast.AST) -> ast.AST:
        for f in funcs:
            if any(sub is node for sub in ast.walk(f)):
                return f
        return tree

    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not _is_client(node.func.value):
            continue
        method = node.func.attr
        if method in ("get_paginator", "get_waiter", "can_paginate"):
            arg = node.args[0] if node.args else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise AssertionError(f"line {node.lineno}: {method} with a non-literal name")
            if method == "can_paginate":
                continue
            # A waiter polls an operation: object_exists/object_not_exists -> head_object, etc.
            op = arg.value if method == "get_paginator" else {
                "object_exists": "head_object", "object_not_exists": "head_object",
                "bucket_exists": "head_bucket", "bucket_not_exists": "head_bucket",
            }.get(arg.value, f"waiter:{arg.value}")
            calls.append(Call(op, frozenset(), False, frozenset(), node.lineno))
            continue
        if method in ("generate_presigned_url", "generate_presigned_post", "close"):
            continue  # no request of its own (a presigned URL carries the named operation)
        keywords = frozenset(k.arg for k in node.keywords if k.arg)
        stars = [k.value for k in node.keywords if k.arg is None]
        star_keys: frozenset[str] = frozenset()
        for star in stars:
            if isinstance(star, ast.Name):
                star_keys |= _dict_keys_assigned(enclosing(node), star.id)
        calls.append(Call(method, keywords, bool(stars), star_keys, node.lineno))
    return calls


def required_actions(calls: list[Call]) -> set[str]:
    actions: set[str] = set()
    for call in calls:
        base = set(OP_ACTIONS[call.op])
        for kw in call.keywords | call.double_star_keys:
            extra = KWARG_ACTIONS.get((call.op, kw), set())
            for action in extra:
                base.discard(REPLACES.get(action, ""))
            base |= extra
        actions |= base
    return actions


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    stmts = doc["Statement"]
    return stmts if isinstance(stmts, list) else [stmts]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _load(name: str) -> dict[str, Any]:
    return json.loads((AWS / name).read_text())


@pytest.fixture(scope="module")
def store_calls() -> list[Call]:
    return extract_calls(STORE.read_text())


def test_store_calls_are_found(store_calls: list[Call]) -> None:
    ops = {c.op for c in store_calls}
    # The store's four kinds of request today; the exact IAM comparison is the next tests' job.
    assert {"put_object", "get_object", "head_object", "list_objects_v2"} <= ops, ops


def test_every_store_operation_is_mapped_and_real(store_calls: list[Call]) -> None:
    import botocore.session
    from botocore import xform_name

    s3_ops = {xform_name(op) for op in botocore.session.get_session().get_service_model("s3").operation_names}
    unknown = sorted({f"{c.op} (line {c.line})" for c in store_calls if c.op not in s3_ops})
    assert not unknown, f"not S3 client operations: {unknown}"
    unmapped = sorted({f"{c.op} (line {c.line})" for c in store_calls if c.op not in OP_ACTIONS})
    assert not unmapped, f"add their IAM actions to OP_ACTIONS (and the policy): {unmapped}"


def test_iam_policy_grants_exactly_what_the_store_calls(store_calls: list[Call]) -> None:
    policy = _load("iam-policy.json")
    granted: set[str] = set()
    for stmt in _statements(policy):
        assert stmt["Effect"] == "Allow", stmt
        assert "NotAction" not in stmt and "NotResource" not in stmt, stmt
        for action in _as_list(stmt["Action"]):
            assert "*" not in action, f"wildcard action {action!r}: grant named actions only"
            granted.add(action)
    needed = required_actions(store_calls)
    assert granted == needed, (
        f"missing: {sorted(needed - granted)}; not needed by the code: {sorted(granted - needed)}"
    )


def test_iam_policy_resources_fit_each_action() -> None:
    bucket_arn = f"arn:aws:s3:::{BUCKET}"
    objects_arn = f"{bucket_arn}/{PREFIX}/*"
    for stmt in _statements(_load("iam-policy.json")):
        resources = set(_as_list(stmt["Resource"]))
        for action in _as_list(stmt["Action"]):
            expected = {bucket_arn} if action in BUCKET_LEVEL else {objects_arn}
            assert resources == expected, f"{action} on {resources}, expected {expected}"
        if "s3:ListBucket" in _as_list(stmt["Action"]):
            # A prefix condition would turn the 404 of HeadObject on a missing key into a 403,
            # and ObjectStore.exists() would raise instead of answering False.
            assert "Condition" not in stmt, "s3:ListBucket must not be limited by s3:prefix"


def test_policies_are_well_formed_iam_documents() -> None:
    from moto.iam.policy_validation import BaseIAMPolicyValidator, IAMPolicyDocumentValidator

    IAMPolicyDocumentValidator((AWS / "iam-policy.json").read_text()).validate()
    BaseIAMPolicyValidator((AWS / "bucket-policy.json").read_text()).validate()


def test_bucket_policy_denies_requests_without_tls() -> None:
    resources = {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    tls = [
        s for s in _statements(_load("bucket-policy.json"))
        if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(tls) == 1
    stmt = tls[0]
    assert stmt["Effect"] == "Deny" and stmt["Principal"] == "*"
    assert _as_list(stmt["Action"]) == ["s3:*"]
    assert set(_as_list(stmt["Resource"])) == resources


def test_bucket_policy_requires_server_side_encryption(store_calls: list[Call]) -> None:
    stmts = _statements(_load("bucket-policy.json"))
    sse_key = "s3:x-amz-server-side-encryption"
    enforcing = [
        s for s in stmts
        if s["Effect"] == "Deny" and "s3:PutObject" in _as_list(s["Action"])
        and sse_key in s.get("Condition", {}).get("StringNotEquals", {})
    ]
    assert enforcing, "no statement denies uploads asking for another encryption"
    allowed = set(_as_list(enforcing[0]["Condition"]["StringNotEquals"][sse_key]))
    assert allowed <= {"AES256", "aws:kms", "aws:kms:dsse"} and allowed
    # Uploads without the header are encrypted by the bucket default (SSE-S3 or SSE-KMS)...
    default = _load("bucket-encryption.json")["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] in allowed
    # ...and a statement denying them would lock out the store unless every put sends the header.
    deny_missing = [
        s for s in stmts
        if s["Effect"] == "Deny" and "s3:PutObject" in _as_list(s["Action"])
        and s.get("Condition", {}).get("Null", {}).get(sse_key) == "true"
    ]
    if deny_missing:
        puts = [c for c in store_calls if c.op == "put_object"]
        missing = [c.line for c in puts if "ServerSideEncryption" not in c.keywords | c.double_star_keys]
        assert not missing, f"the bucket policy would reject put_object at lines {missing}"


def test_bucket_versioning_and_public_access_block() -> None:
    assert _load("bucket-versioning.json") == {"Status": "Enabled"}
    assert all(_load("public-access-block.json").values())


def test_a_new_operation_in_the_store_changes_the_required_actions() -> None:
    """The extraction sees new calls, paginators, versioned reads and `**kwargs` dict keys."""
    source = '''
class S3Store:
    def purge(self, key, version):
        self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket):
            pass
        return self.client.get_object(Bucket=self.bucket, Key=key, VersionId=version)

    def tag(self, key, data, first):
        extra = {"Tagging": "a=b"} if first else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
'''
    calls = extract_calls(source)
    assert {c.op for c in calls} == {"delete_object", "list_object_versions", "get_object", "put_object"}
    assert required_actions(calls) == {
        "s3:DeleteObjectVersion", "s3:ListBucketVersions", "s3:GetObjectVersion",
        "s3:PutObject", "s3:PutObjectTagging",
    }
    granted = {a for s in _statements(_load("iam-policy.json")) for a in _as_list(s["Action"])}
    assert required_actions(calls) != granted


def test_only_the_store_module_talks_to_s3() -> None:
    """The policy is derived from store.py alone: no other module may import boto3/botocore."""
    others = []
    for folder in ("flows", "tasks", "schemas", "deployments"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == STORE:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = (
                    [a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                )
                if any(n.split(".")[0] in ("boto3", "botocore", "aiobotocore", "s3fs") for n in names):
                    others.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not others, f"S3 access outside tasks/storage/store.py (extend the policy test): {others}"

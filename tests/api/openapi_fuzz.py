"""Schemathesis over every operation of the served spec, through the Flask app (WSGI).

Shared by ``tests/api/test_openapi_schemathesis.py`` (a bounded run in ``make test``)
and ``bench/schemathesis_long.py`` (thousands of cases). Each case is sent with a real
token against a real database, and its response must pass four checks: not a server
error, a documented status code, a documented content type, and a body that conforms
to the documented schema. Failures are collected, not raised, so one run reports every
operation; failures that match :data:`KNOWN_ISSUES` are counted apart.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

# Known failures, counted apart from new ones: (operation label regex, failure title
# regex, why, predicate on the case); a failure counts as known only if all match.
KnownIssue = tuple[str, str, str, Callable[[Any], bool]]


# Failures being fixed elsewhere, counted apart: none left. (NUL bytes and dates off the
# calendar in query parameters, and NUL characters in an op, were; see docs/security.md.)
KNOWN_ISSUES: list[KnownIssue] = []


@dataclass
class Report:
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    by_operation: dict[str, Counter] = field(default_factory=dict)
    server_errors: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)  # label -> distinct titles
    known: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, label: str, title: str, why: str | None, example: str) -> None:
        bucket = self.known if why else self.failures
        titles = bucket.setdefault(label, [])
        shown = f"{title} [known: {why}]" if why else title
        if shown not in titles:
            titles.append(shown)
            self.examples.setdefault((label, title), example)

    def lines(self) -> list[str]:
        out = [f"cases={self.cases} server_errors={self.server_errors} "
               f"operations_with_violations={len(self.failures)} "
               f"known_issue_operations={len(self.known)}",
               "statuses: " + " ".join(f"{k}={v}" for k, v in sorted(self.statuses.items()))]
        for bucket, name in ((self.failures, "VIOLATION"), (self.known, "known")):
            for label, titles in sorted(bucket.items()):
                for title in titles:
                    out.append(f"  {name}: {label}: {title}")
                    plain = title.split(" [known")[0]
                    if (label, plain) in self.examples and name == "VIOLATION":
                        out.append("      " + self.examples[(label, plain)][:400])
        return out


def _known(label: str, title: str, case: Any) -> str | None:
    for op_re, title_re, why, pred in KNOWN_ISSUES:
        if re.search(op_re, label) and re.search(title_re, title) and pred(case):
            return why
    return None


# Sign-in hashes a password (argon2, half a second on a busy machine): these operations
# get fewer cases than the rest.
SLOW = {"POST /api/v1/auth/token": 0.2, "DELETE /api/v1/auth/token": 0.2}


def run(app: Any, token: str, device_id: str, *, examples: int, sign_in: Callable[[], str],
        modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
        seed: int | None = None, only: str | None = None, skip: str | None = None) -> Report:
    """Up to ``examples`` cases per operation and mode: derandomized (the same cases
    every run) unless a ``seed`` is given (the same cases for the same seed). ``token`` belongs to ``device_id``; ``sign_in`` makes a fresh token,
    for the one operation that revokes its own. ``only``/``skip``: regexes on labels
    such as ``GET /api/v1/sync/pull``."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if (only and not re.search(only, label)) or (skip and re.search(skip, label)):
            continue
        revokes_itself = label == "DELETE /api/v1/auth/token"
        count = max(1, round(examples * SLOW.get(label, 1)))
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            if label == "POST /api/v1/sync/push" and mode == GenerationMode.POSITIVE:
                # Else every positive push is a 403 device_mismatch and ops never run.
                strategy = strategy.map(lambda case: _own_device(case, device_id))
            _run_operation(strategy, label, report, count, seed,
                           sign_in if revokes_itself else (lambda: token))
    return report


def _own_device(case: Any, device_id: str) -> Any:
    if isinstance(case.body, dict):
        case.body["device_id"] = device_id
    return case


def _run_operation(strategy: Any, label: str, report: Report, examples: int,
                   seed: int | None, token: Callable[[], str]) -> None:
    @settings(max_examples=examples, derandomize=seed is None, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=strategy)
    @hypothesis.seed(seed or 0)
    def one(case: Any) -> None:
        report.cases += 1
        # Schemathesis's WSGI transport does not undo Content-Encoding: ask for none.
        response = case.call(headers={"Authorization": f"Bearer {token()}",
                                      "Accept-Encoding": "identity"})
        report.statuses[response.status_code] += 1
        report.by_operation.setdefault(label, Counter())[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup, or one failure
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                example = (f"{case.method} {case.formatted_path} query={case.query!r} "
                           f"body={str(case.body)[:120]!r} -> {response.status_code} "
                           f"{response.text[:200]!r}")
                report.add(label, title, _known(label, title, case), example)

    # Negative mode has nothing to make invalid in an operation without parameters.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        one()


def fresh_token(client: Any, username: str, password: str) -> Callable[[], str]:
    """A function that signs a new device in and returns its token (the device's id is
    the function's ``device_id`` attribute afterwards)."""
    def sign_in() -> str:
        device = f"fuzz-{secrets.token_hex(6)}"
        r = client.post("/api/v1/auth/token", json={
            "username": username, "password": password, "device_id": device})
        if r.status_code == 429:
            # Fuzzing POST /auth/password with wrong "old" passwords counts as failed
            # sign-ins and locks the fuzzing user, as it should: the operator unlocks.
            client.application.test_cli_runner().invoke(args=["users", "unlock", username])
            r = client.post("/api/v1/auth/token", json={
                "username": username, "password": password, "device_id": device})
        assert r.status_code == 200, r.json
        sign_in.device_id = device  # type: ignore[attr-defined]
        return r.json["token"]
    return sign_in

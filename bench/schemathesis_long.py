"""A long schemathesis run over every operation of the served spec (``make fuzz``).

A scratch PostGIS database with the Jianye demo grids, an admin and a patroller, and
``--examples`` cases per operation and generation mode (positive and negative) for each
(default 100: about 2 × 2 × 26 × 100 ≈ 10,000 cases). Prints the cases, the status
codes, the 5xx count and every distinct violation; exits 1 if there is a violation that
is not a known issue (tests/api/openapi_fuzz.py ``KNOWN_ISSUES``).

    .venv/bin/python bench/schemathesis_long.py [--examples N] [--only REGEX] [--seed S]
"""

from __future__ import annotations

import argparse
import logging
import sys

from harness import ROOT, flask, scratch_database

sys.path.insert(0, str(ROOT))

from tests.api.openapi_fuzz import fresh_token, run

PASSWORD = "fuzz-pw-123456"
GRID = "320105001001004"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--only", help="a regex on 'METHOD /path'")
    parser.add_argument("--seed", type=int, help="random cases from this seed "
                        "(default: derandomized, the same cases every run)")
    parser.add_argument("--roles", default="admin,patroller")
    parser.add_argument("--verbose", action="store_true", help="status codes by operation")
    args = parser.parse_args()
    total_cases = total_5xx = violations = 0
    with scratch_database() as url:
        from server import create_app

        for role in args.roles.split(","):
            name = f"fuzz_{role}"
            extra = ["--grid", GRID] if role in ("patroller", "grid_leader") else []
            flask(url, "users", "create", name, "--role", role, *extra, stdin=PASSWORD + "\n")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                          "ATTACHMENT_DIR": str(ROOT / "var" / "fuzz-attachments")})
        # Each 5xx is counted and its case printed: the tracebacks would drown the report.
        app.logger.setLevel(logging.CRITICAL)
        client = app.test_client()
        for role in args.roles.split(","):
            sign_in = fresh_token(client, f"fuzz_{role}", PASSWORD)
            token = sign_in()
            report = run(app, token, sign_in.device_id, examples=args.examples,  # type: ignore[attr-defined]
                         sign_in=sign_in, seed=args.seed, only=args.only)
            print(f"== as {role}")
            print("\n".join(report.lines()), flush=True)
            if args.verbose:
                for label, counts in sorted(report.by_operation.items()):
                    print(f"  {label}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            total_cases += report.cases
            total_5xx += report.server_errors
            violations += sum(len(t) for t in report.failures.values())
        with app.app_context():
            from server.extensions import db

            db.engine.dispose()
    print(f"total cases={total_cases} 5xx={total_5xx} distinct_violations={violations}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

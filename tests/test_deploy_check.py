"""`manage.py check --deploy` is clean with a production-like environment."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DB_POOL", "NUM_PROXIES"))
    }
    env.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "chat.example.com",
            "DATABASE_URL": "postgres://chat:chat@db.internal:5432/chat",
            "REDIS_URL": "redis://redis.internal:6379/0",
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_reports_no_issues_in_production_environment():
    result = run_check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_when_debug_left_on():
    result = run_check(DEBUG="1")

    assert result.returncode != 0
    assert "security.W018" in result.stderr

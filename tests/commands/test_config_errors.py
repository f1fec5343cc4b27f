"""A setting that is wrong or half-given stops the bot at start, naming the variable and
never printing a secret."""

from __future__ import annotations

import json

import pytest

from tests.commands.test_cli import occ_bot


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"SUPABASE_URL": "https://abc.supabase.co"}, "SUPABASE_SERVICE_ROLE_KEY"),
        ({"SUPABASE_SERVICE_ROLE_KEY": "service-role-secret"}, "SUPABASE_URL"),
    ],
)
def test_half_a_supabase_configuration_is_a_start_up_error(tmp_path, given, missing):
    served = occ_bot("serve", "--port", "0", env=given, cwd=tmp_path)
    checked = occ_bot("check", "--json", env=given, cwd=tmp_path)

    assert served.returncode == 2
    assert f"{missing} is unset" in served.stderr and "Traceback" not in served.stderr
    assert "service-role-secret" not in served.stderr + checked.stdout
    assert not (tmp_path / "occ.db").exists()  # no quiet fall back to SQLite
    report = json.loads(checked.stdout)
    assert checked.returncode == 1 and f"{missing} is unset" in report["checks"][0]["detail"]


def test_with_database_url_the_supabase_variables_are_not_needed(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/occ.db", "SUPABASE_URL": "https://abc.co"}
    migrated = occ_bot("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr


@pytest.mark.parametrize(
    ("given", "variable", "problem"),
    [
        ({"OCC_ESCALATION_CHAIN": "managers,the-boss"}, "OCC_ESCALATION_CHAIN", "'the-boss'"),
        ({"OCC_ESCALATION_CHAIN": " , "}, "OCC_ESCALATION_CHAIN", "at least one level"),
        ({"OCC_REMINDERS_PER_LEVEL": "0"}, "OCC_REMINDERS_PER_LEVEL", "greater than or equal"),
        ({"OCC_MANAGERS_GROUP": "managers"}, "OCC_MANAGERS_GROUP", "match pattern"),
    ],
)
def test_a_bad_escalation_chain_setting_stops_the_bot_naming_it(tmp_path, given, variable, problem):
    served = occ_bot("serve", "--port", "0", env=given, cwd=tmp_path)

    assert served.returncode == 2
    assert variable in served.stderr and problem in served.stderr
    assert "Traceback" not in served.stderr

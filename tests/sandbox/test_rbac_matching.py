"""Action matching follows Azure RBAC's wildcard rule in one place (issue 11): ``*`` is any
run of characters including ``/``, case-insensitive, NotActions / NotDataActions subtracted.
See the comment on helpers.sandbox.arm.rbac.action_matches for the documentation it follows.
"""

from __future__ import annotations

import pytest

from helpers.sandbox.arm.rbac import ROLE_BY_NAME, RoleDefinition, action_matches, role_allows

VAULT_READ = "Microsoft.KeyVault/vaults/read"


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("*/read", VAULT_READ, True),
        ("*", VAULT_READ, True),
        ("Microsoft.KeyVault/*", VAULT_READ, True),
        ("Microsoft.KeyVault/vaults/*/read", VAULT_READ, True),  # a "*" segment may be empty
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaultsread", False),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/write", False),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read", True),
        ("Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/a/b/c/read", True),
        ("Microsoft.KeyVault/vaults/*", VAULT_READ, True),
        ("microsoft.keyvault/VAULTS/READ", VAULT_READ, True),
        ("Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/readx", False),
        ("Microsoft.KeyVault/vaults/read", "xMicrosoft.KeyVault/vaults/read", False),
        ("Microsoft.Key.ault/*", VAULT_READ, False),  # regex characters are literal
        ("*/write", VAULT_READ, False),
    ],
)
def test_action_wildcards_match_as_azure_rbac_does(pattern, action, expected):
    assert action_matches((pattern,), action) is expected


def test_reader_and_the_key_vault_data_roles_with_vaults_star_read_all_grant_vault_read():
    for role in ("reader", "key vault reader", "key vault secrets officer"):
        assert role_allows(ROLE_BY_NAME[role], VAULT_READ, data=False), role
    assert not role_allows(ROLE_BY_NAME["key vault secrets user"], VAULT_READ, data=False)


def test_not_actions_are_subtracted_on_both_planes():
    contributor = ROLE_BY_NAME["contributor"]
    assert role_allows(contributor, VAULT_READ, data=False)
    assert not role_allows(contributor, "Microsoft.Authorization/roleAssignments/write", data=False)
    custom = RoleDefinition(
        "x",
        "custom",
        data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
        not_data_actions=("Microsoft.KeyVault/vaults/secrets/getSecret/action",),
    )
    assert role_allows(custom, "Microsoft.KeyVault/vaults/secrets/setSecret/action", data=True)
    assert not role_allows(custom, "Microsoft.KeyVault/vaults/secrets/getsecret/ACTION", data=True)

"""Accounts: users with hashed passwords and API tokens, groups and their members."""

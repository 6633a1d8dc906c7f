"""Accounts and groups, and who may see and do what beyond a task's own candidates."""

"""Alembic migrations for the bot's database (see docs/STORAGE.md)."""

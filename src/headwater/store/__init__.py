"""Persistence: SQLAlchemy tables, the database lifecycle and tenant-scoped repositories."""

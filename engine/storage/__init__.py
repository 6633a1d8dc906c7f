"""Storage: the database (SQLAlchemy 2, SQLite or PostgreSQL), the engine's tables, and the
Alembic migrations that own the schema."""

"""SQL migrations, plain and embedded (PL/pgSQL, Alembic, Django)."""

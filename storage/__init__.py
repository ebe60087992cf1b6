"""Persistence behind small interfaces: the relational database (SQLAlchemy 2 + Alembic;
SQLite by default, PostgreSQL in production) and the object store for original uploads."""

"""Alembic environment. Tryst passes an open connection in ``config.attributes``
(see tryst.storage.migrate); nothing here reads settings or the environment."""

from __future__ import annotations

from alembic import context

from tryst.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tryst migrate`, which supplies the connection")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()

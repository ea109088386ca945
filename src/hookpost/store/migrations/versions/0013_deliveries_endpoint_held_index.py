"""deliveries: an endpoint's held rows in a partial index, for (endpoint, status, updated_at)

Issue 15, target 7: the batch publish's SQLite writer spends most of a
delivery's insert in the table's indexes, ~1 us each. ``ix_deliveries_endpoint_status``
was written by every insert and rewritten by every claim and record (it holds
``status`` and ``updated_at``), yet its only reader that needs it is releasing an
endpoint's held deliveries. ``ix_deliveries_endpoint_held`` holds just the held
rows, which publish, claim and record do not make (publish only for a disabled
endpoint). Holding an endpoint's pending rows reads ``ix_deliveries_endpoint_open``,
and the held count of ``/metrics`` the new index itself.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_endpoint_held",
            ["endpoint_id"],
            unique=False,
            sqlite_where=sa.text("status = 'held'"),
            postgresql_where=sa.text("status = 'held'"),
        )
        batch_op.drop_index("ix_deliveries_endpoint_status")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_endpoint_status", ["endpoint_id", "status", "updated_at"], unique=False
        )
        batch_op.drop_index(
            "ix_deliveries_endpoint_held",
            sqlite_where=sa.text("status = 'held'"),
            postgresql_where=sa.text("status = 'held'"),
        )

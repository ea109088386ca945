"""endpoint serializer

The receiver's serializer an endpoint of a re-serializing profile (justwallet)
writes and signs its bodies for: javascript | php | ruby; NULL is javascript,
so existing endpoints keep the bodies they had.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("serializer", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_column("serializer")

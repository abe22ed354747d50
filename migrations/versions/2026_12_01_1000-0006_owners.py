"""owners: the partner who submitted each booking and media job

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows were submitted before partners were told apart: NULL, i.e. operator-only.
    op.add_column("bookings", sa.Column("owner", sa.String(length=40), nullable=True))
    op.create_index(op.f("ix_bookings_owner"), "bookings", ["owner"], unique=False)
    op.add_column("media_jobs", sa.Column("owner", sa.String(length=40), nullable=True))
    op.create_index(op.f("ix_media_jobs_owner"), "media_jobs", ["owner"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_media_jobs_owner"), table_name="media_jobs")
    op.drop_column("media_jobs", "owner")
    op.drop_index(op.f("ix_bookings_owner"), table_name="bookings")
    op.drop_column("bookings", "owner")

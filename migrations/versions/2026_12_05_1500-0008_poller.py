"""poller: jobs, tasks per page, and the partner records they synchronise

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poller_jobs",
        sa.Column("job_id", sa.String(length=120), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("total_records", sa.Integer(), nullable=True),
        sa.Column("page_size", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_poller_jobs")),
    )
    op.create_index(op.f("ix_poller_jobs_partner_id"), "poller_jobs", ["partner_id"], unique=False)
    op.create_index(op.f("ix_poller_jobs_owner"), "poller_jobs", ["owner"], unique=False)
    op.create_index(op.f("ix_poller_jobs_status"), "poller_jobs", ["status"], unique=False)
    op.create_table(
        "poller_tasks",
        sa.Column("job_id", sa.String(length=120), nullable=False),
        sa.Column("task_id", sa.String(length=20), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("s3_key", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["poller_jobs.job_id"],
            name=op.f("fk_poller_tasks_job_id_poller_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "task_id", name=op.f("pk_poller_tasks")),
    )
    op.create_index("ix_poller_tasks_updated_at", "poller_tasks", ["updated_at"], unique=False)
    op.create_table(
        "partner_records",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        sa.Column("job_id", sa.String(length=120), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "record_id", name=op.f("pk_partner_records")),
    )


def downgrade() -> None:
    op.drop_table("partner_records")
    op.drop_index("ix_poller_tasks_updated_at", table_name="poller_tasks")
    op.drop_table("poller_tasks")
    op.drop_index(op.f("ix_poller_jobs_status"), table_name="poller_jobs")
    op.drop_index(op.f("ix_poller_jobs_owner"), table_name="poller_jobs")
    op.drop_index(op.f("ix_poller_jobs_partner_id"), table_name="poller_jobs")
    op.drop_table("poller_jobs")

"""translation projects: projects, their files and language pairs, Translate job leases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:49:39.758720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "translation_job_leases",
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.String(length=110), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_translation_job_leases")),
    )
    op.create_table(
        "translation_projects",
        sa.Column("project_id", sa.String(length=110), nullable=False),
        sa.Column("customer", sa.String(length=40), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=130), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("price_standard", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("price_custom", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_translation_projects")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_translation_projects_workflow_id")),
    )
    op.create_index(op.f("ix_translation_projects_customer"), "translation_projects", ["customer"], unique=False)
    op.create_index(op.f("ix_translation_projects_owner"), "translation_projects", ["owner"], unique=False)
    op.create_index(op.f("ix_translation_projects_status"), "translation_projects", ["status"], unique=False)
    op.create_table(
        "translation_files",
        sa.Column("project_id", sa.String(length=110), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_language", sa.String(length=10), nullable=True),
        sa.Column("target_language", sa.String(length=10), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("quarantine_key", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["translation_projects.project_id"],
            name=op.f("fk_translation_files_project_id_translation_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "name", name=op.f("pk_translation_files")),
    )
    op.create_table(
        "translation_pairs",
        sa.Column("project_id", sa.String(length=110), nullable=False),
        sa.Column("source_language", sa.String(length=10), nullable=False),
        sa.Column("target_language", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("billed_characters", sa.Integer(), nullable=True),
        sa.Column("flagged", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.Text(), nullable=True),
        sa.Column("price_per_million", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("cost_usd", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["translation_projects.project_id"],
            name=op.f("fk_translation_pairs_project_id_translation_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "source_language", "target_language", name=op.f("pk_translation_pairs")),
    )


def downgrade() -> None:
    op.drop_table("translation_pairs")
    op.drop_table("translation_files")
    op.drop_index(op.f("ix_translation_projects_status"), table_name="translation_projects")
    op.drop_index(op.f("ix_translation_projects_owner"), table_name="translation_projects")
    op.drop_index(op.f("ix_translation_projects_customer"), table_name="translation_projects")
    op.drop_table("translation_projects")
    op.drop_table("translation_job_leases")

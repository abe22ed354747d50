"""shipment documents: shipments, their documents (by ETag) and the fields found in them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:01:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("partner", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("processed_key", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_partner"), "shipments", ["partner"], unique=False)
    op.create_index(op.f("ix_shipments_status"), "shipments", ["status"], unique=False)
    op.create_table(
        "shipment_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=100), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("raw_key", sa.Text(), nullable=True),
        sa.Column("quarantine_key", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.shipment_id"],
            name=op.f("fk_shipment_documents_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_documents")),
        sa.UniqueConstraint("shipment_id", "doc_type", "etag", name=op.f("uq_shipment_documents_shipment_id")),
    )
    op.create_index(op.f("ix_shipment_documents_status"), "shipment_documents", ["status"], unique=False)
    op.create_table(
        "shipment_fields",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.String(length=128), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("extracted_value", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("provenance", sa.String(length=20), nullable=False),
        sa.Column("review", sa.String(length=20), nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["shipment_documents.id"],
            name=op.f("fk_shipment_fields_document_id_shipment_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_fields")),
        sa.UniqueConstraint("document_id", "name", name=op.f("uq_shipment_fields_document_id")),
    )
    op.create_index(op.f("ix_shipment_fields_shipment_id"), "shipment_fields", ["shipment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shipment_fields_shipment_id"), table_name="shipment_fields")
    op.drop_table("shipment_fields")
    op.drop_index(op.f("ix_shipment_documents_status"), table_name="shipment_documents")
    op.drop_table("shipment_documents")
    op.drop_index(op.f("ix_shipments_status"), table_name="shipments")
    op.drop_index(op.f("ix_shipments_partner"), table_name="shipments")
    op.drop_table("shipments")

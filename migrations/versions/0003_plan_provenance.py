"""terraform plans keep who posted them (OIDC claims), judged at evaluation against the base config

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows posted before this column have none: their OIDC plans no longer count (fail closed).
    op.add_column("terraform_plan", sa.Column("provenance", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("terraform_plan", "provenance")

"""Run Alembic from Stepwise's processes (`stepwise migrate`, `stepwise dev`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from worker.settings import SettingsError


def migrations_dir() -> Path:
    """The migrations folder: beside the packages in a checkout or the image, else the cwd."""
    for candidate in (Path(__file__).resolve().parents[1] / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SettingsError("migrations/: not found beside the installed packages or in the current directory")


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at ``database_url`` without needing alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
    )
    config.attributes["database_url"] = database_url
    return config


def upgrade_head(database_url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(database_url), "heads")

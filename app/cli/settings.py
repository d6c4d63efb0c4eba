"""Settings for CLI commands: a validation error becomes one line naming the variable to fix."""

from __future__ import annotations

from typing import Any


def load_settings() -> Any:
    from pydantic import ValidationError

    from app.config.settings import Settings, SettingsError

    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "COUNTERSIGN_" + "_".join(str(p) for p in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name if first['loc'] else 'settings'}: {message}") from None

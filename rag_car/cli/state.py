"""Global CLI options -> Settings: what every command gets through ``ctx.obj``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rag_car.settings import Settings


@dataclass
class AppState:
    config_file: Path | None = None
    data_dir: Path | None = None
    debug: bool = False
    _settings: "Settings | None" = field(default=None, repr=False)

    def settings(self, overrides: dict[str, Any] | None = None) -> "Settings":
        """The settings with this command's flags on top (flags > env > TOML > defaults)."""
        from rag_car.settings import load_settings  # pydantic costs ~0.2 s: only for commands that need it

        merged: dict[str, Any] = {"data_dir": self.data_dir, "debug": self.debug or None}
        merged.update(overrides or {})
        if overrides is None and self._settings is not None:
            return self._settings
        settings = load_settings(self.config_file, merged)
        if overrides is None:
            self._settings = settings
        return settings


def state(ctx: typer.Context) -> AppState:
    """The AppState of this invocation (a default one when a command is called directly)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj

"""The configuration `cms serve` resolved (profile, config file, environment),
handed down to each of uvicorn's worker processes as it is: no worker reads a
profile or a file of its own, so every worker serves the same world."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cms_cli.core.config import Config, Paths, Settings

#: The variable that carries the resolved configuration to the workers.
VARIABLE = "CMS_SERVE_CONFIG"


def hand_down(config: Config, *, log_format: str = "plain", debug: bool = False) -> None:
    """Put ``config`` (and how to log: ``log_format``, ``debug``) where the workers
    (child processes) will find it."""
    os.environ[VARIABLE] = json.dumps(
        {
            "log_format": log_format,
            "debug": debug,
            "settings": config.settings.model_dump(mode="json"),
            "profile": config.profile,
            "config_dir": str(config.paths.config_dir),
            "data_dir": str(config.paths.data_dir),
            "file_found": config.file_found,
        }
    )


def handed_down() -> Config:
    """The configuration `cms serve` handed down; without one (an app made by a test
    or another ASGI server), this process's own."""
    raw = os.environ.get(VARIABLE)
    if not raw:
        from cms_cli.core.config import load_config

        return load_config()
    data = json.loads(raw)
    return Config(
        settings=Settings.model_construct(**data["settings"]),
        profile=data["profile"],
        paths=Paths(config_dir=Path(data["config_dir"]), data_dir=Path(data["data_dir"])),
        file_found=data["file_found"],
    )


def handed_down_logging() -> tuple[str, bool] | None:
    """How `cms serve` asked its workers to log (format, debug); None when no
    configuration was handed down (the embedding program's logging stays as it is)."""
    raw = os.environ.get(VARIABLE)
    if not raw:
        return None
    data = json.loads(raw)
    return str(data.get("log_format", "plain")), bool(data.get("debug", False))

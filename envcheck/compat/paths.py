"""envcheck's cache directory: one rule for the parsed-table copies and the wheel-index cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir(env=os.environ, platform: str | None = None) -> Path | None:
    """Where envcheck keeps what it can rebuild; None when this user has no home to keep it in.

    The platform's own place, as pip's (platformdirs') user cache: %LOCALAPPDATA%\\envcheck\\Cache
    on Windows, ~/Library/Caches/envcheck on macOS, $XDG_CACHE_HOME/envcheck or ~/.cache/envcheck
    elsewhere. By hand: `python -c "import platformdirs; print(platformdirs.user_cache_dir('envcheck', False))"`.
    """
    platform = platform or sys.platform
    try:
        if platform == "win32":
            local = env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
            return Path(local) / "envcheck" / "Cache"
        if platform == "darwin":
            return Path.home() / "Library" / "Caches" / "envcheck"
        return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envcheck"
    except (RuntimeError, KeyError):  # no home directory
        return None

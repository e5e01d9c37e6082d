"""envcheck's own directories: one rule for the cache (parsed tables, the wheel-index cache) and
the state (what `mirror set` changed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def xdg_base(var: str, default: Path, env=os.environ) -> Path:
    """$XDG_CACHE_HOME, $XDG_STATE_HOME, ... when set to an absolute path, else `default`.

    The XDG Base Directory spec: "All paths set in these environment variables must be absolute.
    If an implementation encounters a relative path in any of these variables it should consider
    the path invalid and ignore it." A relative one would follow the current directory around.
    """
    value = env.get(var) or ""
    return Path(value) if os.path.isabs(value) else default


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
        return xdg_base("XDG_CACHE_HOME", Path.home() / ".cache", env) / "envcheck"
    except (RuntimeError, KeyError):  # no home directory
        return None


def state_dir(env=os.environ) -> Path:
    """Where envcheck keeps what it must not lose (the record of what `mirror set` replaced):
    $XDG_STATE_HOME/envcheck, or ~/.local/state/envcheck."""
    return xdg_base("XDG_STATE_HOME", Path.home() / ".local" / "state", env) / "envcheck"

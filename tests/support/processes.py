"""What a fresh Python process loads: run a script in one, then list the modules of some libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def libraries_loaded_by(script: str, libraries: tuple[str, ...]) -> list[str]:
    """The modules of ``libraries`` (top-level package names) that a new interpreter holds after
    running ``script`` (dedented)."""
    listed = (
        "\nimport json as _json, sys as _sys\n"
        f"print(_json.dumps(sorted(n for n in _sys.modules if n.split('.')[0] in {libraries!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + listed], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded

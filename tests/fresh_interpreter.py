"""What a fresh Python interpreter has imported after running some code at the repository root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def step_modules_loaded_by(code: str) -> str:
    """The step modules (`tasks.*.steps`) loaded after `code` runs, sorted and comma-separated."""
    probe = (
        f"{code}\nimport sys\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith('tasks.') and m.endswith('.steps'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.strip()

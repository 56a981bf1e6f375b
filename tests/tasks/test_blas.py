"""BLAS runs on one thread once a product asks for it, for the rest of the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_single_threaded_blas_limits_every_blas_library_for_good() -> None:
    code = (
        "import json, numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "from tasks.blas import single_threaded_blas\n"
        "blas = lambda: [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "single_threaded_blas(); after = blas(); single_threaded_blas()\n"
        "print(json.dumps({'after': after, 'again': blas()}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root, env=env)
    got = json.loads(out.stdout)
    assert got["after"] and set(got["after"]) == {1}
    assert got["again"] == got["after"]

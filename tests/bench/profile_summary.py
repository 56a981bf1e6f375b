"""Summarise a py-spy raw (collapsed-stack) profile: where the sampled time went.

`python -m tests.bench.profile_summary PROFILE.txt [--top N]` prints, for the samples py-spy took
(`py-spy record -f raw`), the share of samples under each function (inclusive, each function
counted once per stack) for the project's own code and for the libraries, and the share by
thread. Used to write docs/performance.md.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")
ROOT = str(Path(__file__).resolve().parents[2]) + "/"


def _short(file: str) -> str:
    for marker in ("site-packages/", "/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file.removeprefix(ROOT)


def _own(file: str) -> bool:
    # Modules run from the work tree show relative paths; the venv's show absolute ones.
    if "/.venv/" in file or file.startswith("<"):
        return False
    return file.startswith(ROOT) or not file.startswith("/")


def summarise(path: Path, top: int) -> str:
    """The top functions by inclusive samples, own code and libraries, and samples per thread."""
    own: Counter[str] = Counter()
    libs: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        threads[frames[0]] += n
        seen: set[str] = set()
        for frame in frames[1:]:
            m = _FRAME.match(frame)
            if not m:
                continue
            key = f"{m['func']} ({_short(m['file'])})"
            if key in seen:
                continue
            seen.add(key)
            (own if _own(m["file"]) else libs)[key] += n
    out = [f"{total} samples"]
    for title, counter in (("own code", own), ("libraries", libs), ("threads", threads)):
        out.append(f"\n{title} (inclusive share of samples):")
        out += [f"  {100 * n / total:5.1f}%  {k}" for k, n in counter.most_common(top)]
    return "\n".join(out)


def main() -> None:
    """Print the summary of one profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(summarise(args.profile, args.top))


if __name__ == "__main__":
    main()

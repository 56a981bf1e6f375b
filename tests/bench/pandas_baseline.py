"""The pandas baseline of `make bench`: the headline subset of a survey wave, written plainly.

`python -m tests.bench.pandas_baseline --config study.yaml --out baseline.json` reads the same
files the study reads (Qualtrics CSV exports, the site list, the rosters) and computes, per wave:
cleaning by status and duplicate submissions, site coverage, the response rate, two proportions
with Wilson intervals, a chi-square test (role by answer) and, for the second wave, the change of
a proportion since the first. It is what a careful analyst would write in an afternoon with
pandas and scipy; the study computes much more (weights, every estimate and breakdown, free
text, quality gates, figures, provenance). Each wave is timed on its own.
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from scipy import stats  # noqa: E402

Z95 = 1.959963984540054
# The two proportions of the headline: managers' influence and collaboration with neighbours
# rated 4-5 (both asked in both waves).
HEADLINE = (("influence_managers", ("4", "5")), ("collaboration_neighbours", ("4", "5")))


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """Proportion and Wilson 95% interval."""
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return p, centre - half, centre + half


def _column(cfg: dict[str, Any], variable: str, wave: str) -> str:
    var = cfg["survey"]["variables"][variable]
    return str((var.get("wave_columns") or {}).get(wave, var["column"]))


def _table(path: Path, sheet: str | None) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, sheet_name=sheet or 0, dtype=str)
    return pd.read_csv(path, dtype=str)


def wave(cfg: dict[str, Any], root: Path, key: str) -> dict[str, Any]:
    """The headline subset of one wave."""
    w = cfg["survey"]["waves"][key]
    r = cfg["survey"]["respondent"]
    raw = root / w["export"]
    head = raw.read_bytes()[:3]
    encoding = "utf-8-sig" if head == b"\xef\xbb\xbf" else "cp1252"
    try:
        data = pd.read_csv(raw, dtype=str, skiprows=[1, 2], encoding=encoding, keep_default_na=False)
    except UnicodeDecodeError:
        data = pd.read_csv(raw, dtype=str, skiprows=[1, 2], encoding="cp1252", keep_default_na=False)
    data = data[(data != "").any(axis=1)]
    rows_in = len(data)
    sites = _table(root / cfg["sites"]["path"], cfg["sites"].get("sheet"))
    site_ids = set(sites[cfg["sites"]["id_column"]].str.strip())
    roster_cfg = w["roster"]
    roster = _table(root / roster_cfg["path"], roster_cfg.get("sheet"))
    roster = roster[roster[roster_cfg["site_column"]].str.strip().isin(site_ids)]

    # Cleaning: keep real responses (status 0 / "IP Address"), known sites and roles, then one
    # submission per member: the most complete, then the latest.
    status = data[r["status_column"]].str.strip()
    data = data[status.isin(["0", "IP Address"])]
    data = data[data[r["id_column"]].str.strip() != ""]
    data = data[data[r["site_column"]].str.strip().isin(site_ids)]
    data = data[data[r["role_column"]].str.strip().isin(set(r["role_codes"]))]
    items = [
        _column(cfg, v, key) for v, spec in cfg["survey"]["variables"].items()
        if key in spec["waves"] and _column(cfg, v, key) in data.columns
    ]
    data = data.assign(
        _answered=(data[items] != "").sum(axis=1),
        _recorded=pd.to_datetime(data[r["submitted_column"]], errors="coerce"),
    ).sort_values(["_answered", "_recorded"], ascending=False, kind="stable")
    data = data.drop_duplicates(r["id_column"])
    member = data[r["member_column"]].str.strip()
    data = data[(member == "") | ~member.duplicated()]
    respondents = len(data)

    covered = data[r["site_column"]].str.strip().nunique()
    out: dict[str, Any] = {
        "rows_in": rows_in,
        "respondents": respondents,
        "removed": rows_in - respondents,
        "site_coverage": covered / len(site_ids),
        "response_rate": respondents / len(roster),
        "proportions": {},
    }
    role = data[r["role_column"]].str.strip().map(r["role_codes"])
    for variable, codes in HEADLINE:
        col = _column(cfg, variable, key)
        answered = data[col] != ""
        hit = data[col].isin(codes)
        k, n = int(hit[answered].sum()), int(answered.sum())
        p, lo, hi = wilson(k, n)
        out["proportions"][variable] = {"k": k, "n": n, "p": p, "low": lo, "high": hi}
        if variable == HEADLINE[0][0]:
            table = pd.crosstab(role[answered], hit[answered])
            chi2, pvalue, dof, _ = stats.chi2_contingency(table.to_numpy(), correction=False)
            out["chi_square"] = {"variable": variable, "by": "role", "chi2": float(chi2),
                                 "p": float(pvalue), "dof": int(dof)}
    return out


def change(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Difference of the first headline proportion between waves, with a 95% Wald interval."""
    a, b = (w["proportions"][HEADLINE[0][0]] for w in (first, second))
    diff = b["p"] - a["p"]
    se = math.sqrt(a["p"] * (1 - a["p"]) / a["n"] + b["p"] * (1 - b["p"]) / b["n"])
    z = diff / se if se else float("nan")
    return {"variable": HEADLINE[0][0], "difference": diff, "low": diff - Z95 * se,
            "high": diff + Z95 * se, "p": float(2 * stats.norm.sf(abs(z)))}


def main() -> None:
    """Compute the headline subset wave by wave; write results, per-wave seconds and peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    config = Path(args.config)
    cfg = yaml.safe_load(config.read_text())
    waves = sorted(cfg["survey"]["waves"], key=lambda k: cfg["survey"]["waves"][k]["phase"])
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for key in waves:
        t0 = time.perf_counter()
        results[key] = wave(cfg, config.parent, key)
        if len(results) > 1:
            results[key]["change"] = change(results[waves[0]], results[key])
        seconds[cfg["survey"]["waves"][key]["phase"]] = round(time.perf_counter() - t0, 3)
    np.seterr(all="ignore")
    Path(args.out).write_text(
        json.dumps(
            {
                "results": results,
                "wave_seconds": seconds,
                "process_seconds": round(time.perf_counter() - PROCESS_START, 3),
                "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

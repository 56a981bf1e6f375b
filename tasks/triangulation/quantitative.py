"""The quantitative side of a proposition: the survey numbers for its variable and codes.

Which number. A categorical variable's proposition codes (default: the variable's key codes)
select the estimates' "key" row when they equal the key codes, else the row of the single code;
a free-text variable's codes name one category of its coding dictionary. Headline numbers are the
design-based weighted proportion and interval (raked to the roster margins; the unweighted Wilson
figures are carried in the detail), since the proposition is about the population. Free-text
category shares are unweighted (the survey publishes no weighted ones), and their wave change and
group test are computed here with the survey's own two-proportion and chi-square tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from schemas.study_config import Proposition, Variable
from tasks.survey.estimates import wilson_exprs, z_value
from tasks.survey.stats import chi_square_test, two_proportion_test
from tasks.triangulation.convergence import (
    RULE_TEXT,
    Judgement,
    Setting,
    combine_waves,
    judge_change,
    judge_difference,
    judge_share,
)
from tasks.triangulation.qualitative import PropositionError

ALL = "all"
# The level of the intervals the survey strand publishes (tasks/survey: estimates and change).
PUBLISHED_CONFIDENCE = 0.95


@dataclass(frozen=True)
class SurveyTables:
    """Every wave's survey tables, concatenated (empty frames where a table is absent)."""

    waves: tuple[str, ...]
    estimates: pl.DataFrame
    associations: pl.DataFrame
    change: pl.DataFrame
    freetext: pl.DataFrame


@dataclass(frozen=True)
class QuantEvidence:
    """The survey rows for one proposition, in uniform columns."""

    variable: str
    label: str
    source: str
    waves: tuple[str, ...]
    # wave, group, n, count, value, lower, upper, unweighted, unweighted_lower, unweighted_upper,
    # weighted_se (the published figures: weighted where the survey weights, 95% intervals)
    overall: pl.DataFrame
    groups: pl.DataFrame
    # wave, code, method, n, statistic, dof, p_value, cramers_v
    tests: pl.DataFrame
    # wave, previous_wave, n1, n2, proportion1, proportion2, value, lower, upper, p_value (published:
    # weighted where the survey weights), unweighted_value, unweighted_se, weighted_value, weighted_se,
    # unweighted_proportion1, unweighted_proportion2
    change: pl.DataFrame

    @property
    def weighted(self) -> bool:
        """Whether the survey publishes weighted figures for this evidence (free text: no)."""
        return self.source == "estimates"


_SHARE_COLUMNS = ["wave", "group", "n", "count", "value", "lower", "upper", "unweighted", "unweighted_lower",
                  "unweighted_upper", "weighted_se"]
_TEST_COLUMNS = ["wave", "code", "method", "n", "statistic", "dof", "p_value", "cramers_v"]
_CHANGE_COLUMNS = ["wave", "previous_wave", "n1", "n2", "proportion1", "proportion2", "value", "lower", "upper",
                   "p_value", "unweighted_value", "unweighted_se", "weighted_value", "weighted_se",
                   "unweighted_proportion1", "unweighted_proportion2"]


def _fail(prop: Proposition, message: str) -> PropositionError:
    return PropositionError(f"triangulation proposition {prop.id!r}: {message}")


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _codes(prop: Proposition, var: Variable) -> list[str]:
    codes = list(prop.quantitative.codes) or list(var.key_codes)
    if not codes:
        raise _fail(prop, f"variable {prop.quantitative.variable!r} has no key_codes; list the codes to count")
    unknown = [c for c in codes if c not in var.labels] if var.type != "free_text" else []
    if unknown:
        raise _fail(prop, f"codes {unknown} are not codes of variable {prop.quantitative.variable!r}")
    return codes


def _ordered(frame: pl.DataFrame, waves: Sequence[str], *extra: str) -> pl.DataFrame:
    order = {w: i for i, w in enumerate(waves)}
    return frame.with_columns(pl.col("wave").replace_strict(order, default=len(order)).alias("_w")).sort(
        "_w", *extra
    ).drop("_w")


def _from_estimates(prop: Proposition, var: Variable, tables: SurveyTables) -> QuantEvidence:
    name = prop.quantitative.variable
    codes = _codes(prop, var)
    if var.key_codes and sorted(codes) == sorted(var.key_codes):
        kind, code = "key", ",".join(var.key_codes)
    elif len(codes) == 1:
        kind, code = "code", codes[0]
    else:
        raise _fail(prop, f"codes {codes} are several codes but not the key codes of {name!r}; "
                    "declare them as the variable's key_codes, or give one code")
    est = tables.estimates.filter(
        (pl.col("variable") == name) & (pl.col("kind") == kind) & (pl.col("code") == code)
    )
    if est.is_empty():
        raise _fail(prop, f"variable {name!r} has no survey estimates for code {code!r}")
    label = f"{name} = {str(est.item(0, 'label')).removeprefix('key: ')}"
    shares = est.select(
        "wave", "breakdown", "group", "n", "count", "weighted_se",
        pl.col("weighted_proportion").alias("value"), pl.col("weighted_lower").alias("lower"),
        pl.col("weighted_upper").alias("upper"), pl.col("proportion").alias("unweighted"),
        pl.col("lower").alias("unweighted_lower"), pl.col("upper").alias("unweighted_upper"),
    )
    bd = prop.quantitative.breakdown
    groups = shares.filter(pl.col("breakdown") == bd) if bd else shares.head(0)
    if bd and groups.is_empty():
        raise _fail(prop, f"breakdown {bd!r} is not among the survey breakdowns of variable {name!r}")
    tests = tables.associations.head(0)
    if bd:
        # Per-code tests; the key-code rows (kind "key") are published beside them.
        tests = tables.associations.filter(
            (pl.col("variable") == name) & (pl.col("breakdown") == bd) & (pl.col("kind") == "code")
        )
        if var.type == "multiple_choice":
            members = var.key_codes if kind == "key" else [code]
            tests = tests.filter(pl.col("code").is_in(members))
    change = tables.change.filter(
        (pl.col("variable") == name) & (pl.col("kind") == kind) & (pl.col("code") == code)
        & (pl.col("breakdown") == ALL)
    ).select(
        "wave", "previous_wave", "n1", "n2",
        pl.col("weighted_proportion1").alias("proportion1"), pl.col("weighted_proportion2").alias("proportion2"),
        pl.coalesce("weighted_difference", "difference").alias("value"),
        pl.when(pl.col("weighted_difference").is_not_null()).then("weighted_lower").otherwise("lower").alias("lower"),
        pl.when(pl.col("weighted_difference").is_not_null()).then("weighted_upper").otherwise("upper").alias("upper"),
        pl.coalesce("weighted_p_value", "p_value").alias("p_value"),
        pl.col("difference").alias("unweighted_value"),
        pl.col("proportion1").alias("unweighted_proportion1"), pl.col("proportion2").alias("unweighted_proportion2"),
        ((pl.col("proportion1") * (1 - pl.col("proportion1")) / pl.col("n1"))
         + (pl.col("proportion2") * (1 - pl.col("proportion2")) / pl.col("n2"))).sqrt().alias("unweighted_se"),
        pl.col("weighted_difference").alias("weighted_value"),
        # The change table publishes its 95% interval, not its SE: SE = width / (2·z), the
        # √(se1² + se2²) of the survey strand's change_table.
        ((pl.col("weighted_upper") - pl.col("weighted_lower")) / (2 * z_value(PUBLISHED_CONFIDENCE)))
        .alias("weighted_se"),
    )
    return QuantEvidence(
        variable=name, label=label, source="estimates", waves=tables.waves,
        overall=_ordered(shares.filter(pl.col("breakdown") == ALL).select(_SHARE_COLUMNS), tables.waves),
        groups=_ordered(groups.select(_SHARE_COLUMNS), tables.waves, "group"),
        tests=_ordered(tests.select(_TEST_COLUMNS), tables.waves, "code"),
        change=_ordered(change.select(_CHANGE_COLUMNS), tables.waves),
    )


def _freetext_tests(groups: pl.DataFrame, waves: Sequence[str]) -> pl.DataFrame:
    rows = []
    for wave in waves:
        part = groups.filter(pl.col("wave") == wave).sort("group")
        if part.is_empty():
            continue
        chosen = part.get_column("count").to_numpy()
        table = np.column_stack([chosen, part.get_column("n").to_numpy() - chosen])
        test = chi_square_test(table)
        rows.append({"wave": wave, "code": None, "method": test.method, "n": test.n,
                     "statistic": _nan_to_none(test.statistic), "dof": test.dof,
                     "p_value": _nan_to_none(test.p_value), "cramers_v": _nan_to_none(test.cramers_v)})
    schema = {"wave": pl.String, "code": pl.String, "method": pl.String, "n": pl.Int64, "statistic": pl.Float64,
              "dof": pl.Int64, "p_value": pl.Float64, "cramers_v": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def _freetext_change(overall: pl.DataFrame, waves: Sequence[str]) -> pl.DataFrame:
    rows = []
    present = [w for w in waves if w in set(overall.get_column("wave").to_list())]
    for earlier, later in zip(present, present[1:], strict=False):
        a = overall.filter(pl.col("wave") == earlier).row(0, named=True)
        b = overall.filter(pl.col("wave") == later).row(0, named=True)
        diff = two_proportion_test(a["count"], a["n"], b["count"], b["n"])
        rows.append({"wave": later, "previous_wave": earlier, "n1": a["n"], "n2": b["n"],
                     "proportion1": a["value"], "proportion2": b["value"], "value": _nan_to_none(diff.estimate),
                     "lower": _nan_to_none(diff.lower), "upper": _nan_to_none(diff.upper),
                     "p_value": _nan_to_none(diff.p_value), "unweighted_value": _nan_to_none(diff.estimate),
                     "unweighted_se": _nan_to_none(diff.se), "weighted_value": None, "weighted_se": None,
                     "unweighted_proportion1": a["value"], "unweighted_proportion2": b["value"]})
    schema = {"wave": pl.String, "previous_wave": pl.String, "n1": pl.Int64, "n2": pl.Int64,
              "proportion1": pl.Float64, "proportion2": pl.Float64, "value": pl.Float64, "lower": pl.Float64,
              "upper": pl.Float64, "p_value": pl.Float64, "unweighted_value": pl.Float64,
              "unweighted_se": pl.Float64, "weighted_value": pl.Float64, "weighted_se": pl.Float64,
              "unweighted_proportion1": pl.Float64, "unweighted_proportion2": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def _from_freetext(prop: Proposition, tables: SurveyTables) -> QuantEvidence:
    name = prop.quantitative.variable
    codes = list(prop.quantitative.codes)
    if len(codes) != 1:
        raise _fail(prop, f"free-text variable {name!r} needs exactly one dictionary category in codes")
    rows = tables.freetext.filter((pl.col("variable") == name) & (pl.col("category") == codes[0]))
    if rows.is_empty():
        raise _fail(prop, f"{codes[0]!r} is not a free-text category of variable {name!r}")
    shares = rows.select(
        "wave", "breakdown", "group", pl.col("answers").alias("n"), "count", pl.col("share").alias("value"),
        "lower", "upper", pl.col("share").alias("unweighted"), pl.col("lower").alias("unweighted_lower"),
        pl.col("upper").alias("unweighted_upper"), pl.lit(None, pl.Float64).alias("weighted_se"),
    )
    bd = prop.quantitative.breakdown
    groups = shares.filter(pl.col("breakdown") == bd) if bd else shares.head(0)
    if bd and groups.is_empty():
        raise _fail(prop, f"breakdown {bd!r} is not among the survey breakdowns of variable {name!r}")
    overall = _ordered(shares.filter(pl.col("breakdown") == ALL), tables.waves)
    return QuantEvidence(
        variable=name, label=f"{name} = {rows.item(0, 'label')}", source="freetext", waves=tables.waves,
        overall=overall.select(_SHARE_COLUMNS),
        groups=_ordered(groups.select(_SHARE_COLUMNS), tables.waves, "group"),
        tests=_freetext_tests(groups, tables.waves) if bd else _freetext_tests(groups.head(0), ()),
        change=_freetext_change(overall, tables.waves),
    )


def quantitative_evidence(
    prop: Proposition, variables: dict[str, Variable], tables: SurveyTables
) -> QuantEvidence:
    """The survey rows answering a proposition; a clear error when any name is unknown."""
    name = prop.quantitative.variable
    var = variables.get(name)
    if var is None:
        raise _fail(prop, f"variable {name!r} is not a survey variable (survey.variables)")
    if var.type == "numeric":
        raise _fail(prop, f"variable {name!r} is numeric; a proposition needs a proportion")
    needs_waves = prop.expect in ("increase", "decrease") or prop.quantitative.compare_waves
    if prop.expect == "differs_by_group" and not prop.quantitative.breakdown:
        raise _fail(prop, "expect differs_by_group needs quantitative.breakdown")
    evidence = _from_freetext(prop, tables) if var.type == "free_text" else _from_estimates(prop, var, tables)
    if needs_waves and prop.expect in ("increase", "decrease") and evidence.change.is_empty():
        raise _fail(prop, f"expect {prop.expect} needs variable {name!r} in two waves (no wave change found)")
    return evidence


def shares_at(ev: QuantEvidence, setting: Setting) -> pl.DataFrame:
    """Overall shares per wave (wave, n, value, lower, upper) under a setting's weighting and level."""
    z = z_value(setting.confidence)
    frame = ev.overall
    if setting.weighted and ev.weighted:
        se = pl.col("weighted_se")
        # The survey strand's design-based interval: p ± z·se, clipped to [0, 1].
        return frame.select("wave", "n", "value", (pl.col("value") - z * se).clip(0.0, 1.0).alias("lower"),
                            (pl.col("value") + z * se).clip(0.0, 1.0).alias("upper"))
    lower, upper = wilson_exprs(pl.col("count").cast(pl.Float64), pl.col("n").cast(pl.Float64), z)
    return frame.select("wave", "n", pl.col("unweighted").alias("value"), lower.alias("lower"), upper.alias("upper"))


def change_at(ev: QuantEvidence, setting: Setting) -> pl.DataFrame:
    """Wave changes (value, lower, upper) under a setting: weighted SE, or the unpooled Wald SE."""
    z = z_value(setting.confidence)
    use_weights = setting.weighted and ev.weighted
    value = pl.coalesce("weighted_value", "unweighted_value") if use_weights else pl.col("unweighted_value")
    se = pl.coalesce("weighted_se", "unweighted_se") if use_weights else pl.col("unweighted_se")
    before = pl.col("proportion1") if use_weights else pl.col("unweighted_proportion1")
    after = pl.col("proportion2") if use_weights else pl.col("unweighted_proportion2")
    return ev.change.select("wave", "previous_wave", before.alias("proportion1"), after.alias("proportion2"),
                            value.alias("value"),
                            (value - z * se).alias("lower"), (value + z * se).alias("upper"))


def _basis(ev: QuantEvidence, setting: Setting) -> str:
    if setting.weighted and not ev.weighted:
        return "unweighted (the survey publishes no weighted figures for free text)"
    return "weighted" if setting.weighted else "unweighted"


def judge(prop: Proposition, ev: QuantEvidence, setting: Setting | None = None) -> Judgement:
    """The quantitative verdict for the proposition's expectation (rules in convergence.py)."""
    setting = setting or Setting()
    expect = prop.expect
    if expect is None:
        return Judgement("not assessed", "no expectation declared (expect) → not assessed")
    verdict = _judge(expect, ev, setting)
    rule = RULE_TEXT[expect].replace("alpha", f"{setting.alpha:.2g}")
    basis = "unweighted test" if expect == "differs_by_group" else _basis(ev, setting)
    return Judgement(verdict.result, f"{expect} ({rule}; {basis}): {verdict.rule}")


def _judge(expect: str, ev: QuantEvidence, setting: Setting) -> Judgement:
    if expect in ("majority", "minority"):
        return combine_waves([
            judge_share(expect, r["lower"], r["upper"], label=str(r["wave"]), level=setting.level)
            for r in shares_at(ev, setting).iter_rows(named=True)
        ])
    if expect in ("increase", "decrease"):
        change = change_at(ev, setting)
        last = change.row(change.height - 1, named=True) if change.height else {}
        j = judge_change(expect, last.get("lower"), last.get("upper"), level=setting.level)
        if last:
            return Judgement(j.result, f"{last['previous_wave']} → {last['wave']} {j.rule}")
        return j
    return combine_waves([
        judge_difference(r["p_value"], label=f"{r['wave']}{' code ' + r['code'] if r['code'] else ''} {r['method']}",
                         alpha=setting.alpha)
        for r in ev.tests.iter_rows(named=True)
    ])


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal ("38.2%"); an en dash when missing."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def points(x: float | None) -> str:
    """A difference of shares in percentage points with sign ("+3.1")."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.1f}"


def headline(prop: Proposition, ev: QuantEvidence, setting: Setting | None = None) -> str:
    """One line summarising the survey result used by the verdict."""
    setting = setting or Setting()
    level = setting.level
    if prop.expect in ("increase", "decrease") and ev.change.height:
        change = change_at(ev, setting)
        c = change.row(change.height - 1, named=True)
        return (f"{ev.label}: {c['previous_wave']} {pct(c['proportion1'])} → {c['wave']} {pct(c['proportion2'])}, "
                f"change {points(c['value'])} points ({level} CI {points(c['lower'])} to {points(c['upper'])})")
    if prop.expect == "differs_by_group" and ev.tests.height:
        parts = [f"{r['wave']} p = {r['p_value']:.3g}" + (f", V = {r['cramers_v']:.2f}" if r["cramers_v"] is not None else "")
                 if r["p_value"] is not None else f"{r['wave']} not testable" for r in ev.tests.iter_rows(named=True)]
        return f"{ev.variable} by {prop.quantitative.breakdown}: " + "; ".join(parts)
    parts = [f"{r['wave']} {pct(r['value'])} ({level} CI {pct(r['lower'])}–{pct(r['upper'])})"
             for r in shares_at(ev, setting).iter_rows(named=True)]
    return f"{ev.label}: " + "; ".join(parts) if parts else f"{ev.label}: no estimate"

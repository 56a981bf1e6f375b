"""A `study` flow that always fails, served for the failure-alert test.

`python failing_study_probe.py STUDY_ID` serves `study/<STUDY_ID>-fail` tagged `study:<STUDY_ID>`
until SIGTERM.
"""

from __future__ import annotations

import sys

from prefect import flow


@flow(name="study")
def failing_study() -> None:
    """Fail the way the study flow does."""
    raise RuntimeError("run r-test is incomplete, `latest` still names the last complete run. Failed: survey_w2: boom")


if __name__ == "__main__":
    study_id = sys.argv[1]
    failing_study.serve(name=f"{study_id}-fail", tags=[f"study:{study_id}"])

"""The failure alert: an automation that notifies through a notification block when a study run
of this study ends Failed or Crashed.

`python -m deployments.serve --alert-block TYPE/NAME` creates it with the served deployments; for
prefect.yaml users, `python -m deployments.alerts --study-id ID --block TYPE/NAME` after
`prefect deploy --all`. TYPE/NAME names a saved Prefect notification block, for example
`custom-webhook/studyflow-alerts` (CustomWebhookNotificationBlock) or
`sendgrid-email/studyflow-alerts` (SendgridEmail); `--block` defaults to $STUDYFLOW_ALERT_BLOCK.
Re-running replaces the study's automation (one per study, named `studyflow-<study-id>-failed`).
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from uuid import UUID

from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

STUDY_FLOW = "study"

SUBJECT = "studyflow: study run {{ flow_run.name }} {{ flow_run.state.name }}"
BODY = """\
Study run {{ flow_run.name }} ({{ flow_run.tags | join(', ') }}) ended {{ flow_run.state.name }}.
{{ flow_run.state.message }}
The run's failure artifact names the phase, the step and the first error line.
Flow run: {{ flow_run | ui_url }}"""


def automation_name(study_id: str) -> str:
    return f"studyflow-{study_id}-failed"


def alert_automation(study_id: str, block_document_id: UUID) -> AutomationCore:
    """Failed or Crashed runs of the `study` flow tagged `study:<study-id>` send a notification."""
    return AutomationCore(
        name=automation_name(study_id),
        description=f"Notify when a study run of {study_id} fails or crashes.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            # Every related spec must match: the `study` flow (not a phase subflow) and the tag.
            match_related=[
                {"prefect.resource.role": "flow", "prefect.resource.name": STUDY_FLOW},
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.study:{study_id}"},
            ],
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_document_id, subject=SUBJECT, body=BODY)],
    )


def block_document_id(block: str) -> UUID:
    """The id of a saved notification block named TYPE/NAME (its block type slug and name)."""
    from prefect.blocks.core import Block

    if "/" not in block:
        raise ValueError(f"notification block {block!r}: expected TYPE/NAME, e.g. custom-webhook/alerts")
    loaded: Block = Block.load(block)  # type: ignore[assignment]  # sync call returns the block
    if loaded._block_document_id is None:  # pragma: no cover - a loaded block always has an id
        raise ValueError(f"notification block {block!r} has no saved document")
    return loaded._block_document_id


def ensure_alert(study_id: str, block: str) -> UUID:
    """Create (or replace) the study's failure automation; returns its id."""
    from prefect.client.orchestration import get_client

    automation = alert_automation(study_id, block_document_id(block))
    with get_client(sync_client=True) as client:
        for old in client.read_automations_by_name(automation.name):
            client.delete_automation(old.id)
        return client.create_automation(automation)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--study-id", help="the study's id")
    group.add_argument("--config", help="read the study id from this study.yaml")
    parser.add_argument("--block", default=os.environ.get("STUDYFLOW_ALERT_BLOCK"), help="TYPE/NAME")
    args = parser.parse_args()
    if not args.block:
        parser.error("--block TYPE/NAME (or STUDYFLOW_ALERT_BLOCK) is required")
    study_id = args.study_id
    if args.config:
        from schemas.study_config import load_study_config

        study_id = load_study_config(args.config).study.id
    automation_id = ensure_alert(study_id, args.block)
    print(f"automation {automation_name(study_id)} ({automation_id}) notifies through {args.block}")


if __name__ == "__main__":
    main()

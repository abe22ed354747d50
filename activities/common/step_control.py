"""Step control's side effects: the audit row of every decision, and the notices that tell
operators (or sign-off reviewers) that a step waits for them (DESIGN §6).

The workflow side is ``workflows.common.step_control``. This module imports no I/O library:
workflows import these activity definitions, and the Postgres and SNS work happens in the
collaborators the worker hands in (``DecisionLog``, ``Notifier``).
"""

from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common.contracts import (
    AUDIENCES,
    INVALID_NOTICE,
    NOTIFY_ATTENTION,
    RECORD_DECISION,
    AttentionNotice,
    DecisionAudit,
    NoticeSent,
)

if TYPE_CHECKING:
    from activities.common.decision_log import DecisionLog
    from activities.common.notify import Notifier
    from activities.common.resources import Resources


class StepControlActivities:
    """Audit and notification side effects of step control."""

    def __init__(self, decisions: "DecisionLog", notifier: "Notifier", resources: "Resources") -> None:
        self._decisions = decisions
        self._notifier = notifier
        self._topics = {
            "operators": resources.operator_attention_topic,
            "signoff": resources.signoff_topic,
            "translators": resources.translation_review_topic,
            "reviewers": resources.documents_review_topic,
        }

    @activity.defn(name=RECORD_DECISION.name)
    async def record_decision(self, audit: DecisionAudit) -> None:
        """Write the audit row once (keyed by ``audit_id``)."""
        await self._decisions.record(audit)

    @activity.defn(name=NOTIFY_ATTENTION.name)
    async def notify(self, notice: AttentionNotice) -> NoticeSent:
        """Publish the notice to its audience's topic, once per key."""
        topic = self._topics.get(notice.audience)
        if topic is None:
            raise ApplicationError(
                f"unknown audience {notice.audience!r} (expected one of {', '.join(AUDIENCES)})",
                type=INVALID_NOTICE,
                non_retryable=True,
            )
        published = await self._notifier.publish_once(notice.key, topic, notice.subject, notice.body)
        return NoticeSent(message_id=published.message_id, duplicate=not published.sent_now)

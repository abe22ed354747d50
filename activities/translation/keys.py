"""Where a translation project's objects live: deterministic keys, so every retry writes the same ones.

In the project bucket::

    translation-inbound/<customer>/<project>/<file>                 what the customer dropped
    translation-jobs/<customer>/<project>/<src>-<tgt>/r<round>/original/  a job's files as sent to us
    translation-jobs/<customer>/<project>/<src>-<tgt>/r<round>/input/   one Translate job's input (XLIFF 1.2)
    translation-jobs/<customer>/<project>/<src>-<tgt>/r<round>/output/  where Translate writes
    translation-quarantine/<customer>/<project>/<file>              refused files, kept
    translation-outbound/<customer>/<project>/<tgt>/<file>          delivered after review

and in the staging bucket ``<customer>/<project>/<tgt>/<file>``: flagged output awaiting review.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.translation.contracts import INBOUND_PREFIX, OUTBOUND_PREFIX, pair_name

JOBS_PREFIX = "translation-jobs/"
QUARANTINE_PREFIX = "translation-quarantine/"


@dataclass(frozen=True)
class ProjectKeys:
    """The keys of one project."""

    customer: str
    project: str

    @property
    def folder(self) -> str:
        """``<customer>/<project>/``: the part every prefix shares."""
        return f"{self.customer}/{self.project}/"

    @property
    def inbound(self) -> str:
        return INBOUND_PREFIX + self.folder

    @property
    def outbound(self) -> str:
        return OUTBOUND_PREFIX + self.folder

    @property
    def customer_outbound(self) -> str:
        """Every delivered project of the customer (the lifecycle rule's filter)."""
        return f"{OUTBOUND_PREFIX}{self.customer}/"

    def inbound_key(self, name: str) -> str:
        return self.inbound + name

    def quarantine_key(self, name: str) -> str:
        return QUARANTINE_PREFIX + self.folder + name

    def job_prefix(self, source: str, target: str, round: int) -> str:
        return f"{JOBS_PREFIX}{self.folder}{pair_name(source, target)}/r{round}/"

    def job_input(self, source: str, target: str, round: int) -> str:
        return self.job_prefix(source, target, round) + "input/"

    def job_original(self, source: str, target: str, round: int) -> str:
        """The job's files as the customer sent them (checked against, merged into)."""
        return self.job_prefix(source, target, round) + "original/"

    def job_output(self, source: str, target: str, round: int) -> str:
        return self.job_prefix(source, target, round) + "output/"

    def staged_key(self, target: str, name: str) -> str:
        return f"{self.folder}{target}/{name}"

    def staged_prefix(self, target: str) -> str:
        return f"{self.folder}{target}/"

    def outbound_key(self, target: str, name: str) -> str:
        return f"{self.outbound}{target}/{name}"

"""The unit of work every desk command runs in: one session, the rules and approver directory
as they were when it started, and its single `now` (tests inject it; listeners get the clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.desk.directory import Approvers
from bot.domain.rules.schema import Rules


@dataclass(frozen=True, slots=True)
class Work:
    session: Session
    rules: Rules
    directory: Approvers
    now: datetime

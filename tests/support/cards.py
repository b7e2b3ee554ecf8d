"""One card, the way the Block Kit builders get it (`bot.domain.card.CardView`), in every
state of the workflow: `view(status, **changes)`. Fixed values, no clock; the post and the
author's name carry hostile text on purpose (it must come out inert)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot.domain.card import CardView, DraftView, ReplyView

T0 = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
OUTCOMES = ("resolved", "lead", "case_opened", "feature_request", "competitor_intel", "no_action")
DRAFT = DraftView(id=7, text="@dana_k Sorry about your card — we've blocked it & a new one is "
                  "on its way. Which branch was it? <3", author="U0ANA",
                  created_at=T0 + timedelta(minutes=20))
def view(status: str = "new", **changes) -> CardView:
    base = CardView(
        mention_id=42, version=3, status="new", network="x",
        url="https://x.com/dana_k/status/1897000000000000001",
        text="@AcmeBank the ATM on Main St swallowed my card & nobody answers the phone. "
             "<!channel> <http://evil.example|Acme refunds> I'm calling my lawyer",
        created_at=T0, ingested_at=T0 + timedelta(minutes=1),
        author_handle="dana_k", author_name="Dana <K>", author_type="customer",
        followers=12840, earlier_mentions=3, last_outcome="resolved",
        sentiment="negative", compound=-0.7269, priority="P1", score=82,
        score_parts={"negativity": 24, "complaint": 15, "reach": 12, "risk": 25, "age": -5},
        matched_rules=("legal threat",), risk=("legal",), approval_required=True,
        team="support", team_label="Customer care", approvers=("U0LEAD", "S0LEADS"),
        outcomes=OUTCOMES, sla_due_at=T0 + timedelta(minutes=15), lang="en")
    by_status = {
        "new": {},
        "claimed": {"claimed_by": "U0ANA"},
        "drafted": {"claimed_by": "U0ANA", "draft": DRAFT, "overdue": True},
        "pending_approval": {"claimed_by": "U0ANA", "draft": DRAFT},
        "approved": {"claimed_by": "U0ANA",
                     "draft": dataclasses.replace(DRAFT, decision="approved",
                                                  decided_by="U0LEAD")},
        "sent": {"claimed_by": "U0ANA",
                 "draft": dataclasses.replace(DRAFT, decision="approved", decided_by="U0LEAD"),
                 "reply": ReplyView(state="sent", sent_by="U0ANA",
                                    url="https://x.com/AcmeBank/status/1897000000000000099",
                                    sent_at=T0 + timedelta(minutes=40))},
        "closed": {"claimed_by": "U0ANA",
                   "draft": dataclasses.replace(DRAFT, decision="approved", decided_by="U0LEAD"),
                   "reply": ReplyView(state="sent", sent_by="U0ANA",
                                      url="https://x.com/AcmeBank/status/1897000000000000099",
                                      sent_at=T0 + timedelta(minutes=40)),
                   "outcome_tags": ("resolved",)},
    }
    return dataclasses.replace(base, status=status, **{**by_status[status], **changes})

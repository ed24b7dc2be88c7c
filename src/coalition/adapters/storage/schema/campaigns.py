"""Campaigns (issue 16, point 3; docs/messages.md "Campaigns"): the administrator's message to a segment of members.

`segment` is the validated JSON of domain/campaigns.py's Segment; `cursor_member_id` is the last member whose
message is queued (members are queued in id order, a chunk per transaction with the cursor), so a send killed
midway resumes after it. What became of the messages is read from the outbox rows (`campaign:<id>:<member>`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, text

from coalition.adapters.storage.schema.base import Id, Timestamp, id_column, metadata
from coalition.adapters.storage.schema.members import members
from coalition.adapters.storage.schema.outbox import outbox_messages

CAMPAIGN_STATUSES_SQL = "('draft', 'scheduled', 'sending', 'sent', 'cancelled')"

campaigns = Table(
    "campaigns",
    metadata,
    id_column(),
    Column("network_id", Id, ForeignKey("networks.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("segment", Text, nullable=False),  # JSON: domain.campaigns.Segment (minor units)
    Column("channels", String(32), nullable=False),  # space-separated: email sms
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("scheduled_at", Timestamp, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("send_started_at", Timestamp, nullable=True),  # the moment the segment's "last N days" are counted from
    Column("sent_at", Timestamp, nullable=True),
    Column("cursor_member_id", BigInteger, nullable=False, server_default="0"),
    Column("audience", Integer, nullable=False, server_default="0"),  # members whose message was queued
    Column("queued", Integer, nullable=False, server_default="0"),  # outbox rows written (one per channel turned on)
    CheckConstraint(f"status IN {CAMPAIGN_STATUSES_SQL}", name="status"),
    Index("ix_campaigns_network_id_id", "network_id", "id"),
    Index("ix_campaigns_status_scheduled_at", "status", "scheduled_at"),
)

# A campaign's counts read its outbox rows by their event id's prefix (`campaign:<id>:`): an index of the campaign rows
# only (partial), so no other message pays for it; on PostgreSQL with the pattern operators a LIKE prefix uses.
Index(
    "ix_outbox_messages_campaign_event_id",
    outbox_messages.c.event_id,
    postgresql_ops={"event_id": "varchar_pattern_ops"},
    postgresql_where=text("event_kind = 'campaign'"),
    sqlite_where=text("event_kind = 'campaign'"),
)

# A segment's query and its pages read one network's members in id order (many networks share the table).
Index("ix_members_network_id_id", members.c.network_id, members.c.id)

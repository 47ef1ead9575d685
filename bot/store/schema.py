"""Tables, as SQLAlchemy Core metadata. Migrations in ``migrations/`` must produce exactly this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# Pseudonymous: a channel and the platform's id for the chat, never a name or phone book entry.
people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("platform_id", String(128), nullable=False),
    Column("language", String(8)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("blocked_at", DateTime(timezone=True)),  # the person blocked the bot; nothing is sent
    Column("window_notice_at", DateTime(timezone=True)),  # WhatsApp: template sent for held replies
    Column("next_send_at", DateTime(timezone=True)),  # per-chat pacing, shared by every instance
    UniqueConstraint("channel", "platform_id", name="uq_people_channel_platform_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("mode", String(20), nullable=False),  # always "bot": the hand-off mode follows the ticket
    Column("step", String(40), nullable=False),  # where the person is in a flow
    Column("data", JSON, nullable=False),  # offered choices, page, pending confirmation
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversations_updated_at", "updated_at"),  # retention clears old text in ``data``
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("text", Text, nullable=False),
    Column("intent", String(80)),
    Column("platform_message_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_messages_person_id_id", "person_id", "id"),
    Index("ix_messages_created_at", "created_at"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("entry_id", String(80), nullable=False),
    Column("language", String(8), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

unanswered = Table(
    "unanswered",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    # none: no answer; suggest: only a did-you-mean; unhelpful: the answer (entry_id) got 👎
    Column("kind", String(10), nullable=False, server_default="none"),
    Column("entry_id", String(80)),
)

PENDING_UPDATE = text("processed_at IS NULL")

# Platform updates, stored before the platform is told "received": nothing accepted is lost.
# Any instance may claim a pending update for a lease; one conversation's updates go one at a time.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("update_key", String(128), nullable=False),  # Telegram update_id, Twilio MessageSid
    Column("chat_key", String(160)),  # whose conversation it belongs to, while pending (then NULL)
    Column("payload", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True)),
    Column("claimed_by", String(64)),  # the instance working on it
    Column("claimed_until", DateTime(timezone=True)),  # its lease; after that another instance may take it
    Column("attempts", Integer, nullable=False, server_default=text("0")),  # failed attempts so far
    UniqueConstraint("channel", "update_key", name="uq_inbox_channel_update_key"),
    Index("ix_inbox_processed_at_id", "processed_at", "id"),
    Index("ix_inbox_pending_chat", "chat_key", "id", sqlite_where=PENDING_UPDATE, postgresql_where=PENDING_UPDATE),
    sqlite_autoincrement=True,  # ids are never reused: they order arrivals
)

# Replies waiting to be delivered, written in the same transaction as the turn that made them.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("chat_id", String(128), nullable=False),
    Column("body", JSON, nullable=False),  # kind, text, buttons, lang, and where to edit or acknowledge
    Column("status", String(10), nullable=False),  # pending | held | failed | dropped (sent ones are deleted)
    Column("attempts", Integer, nullable=False),
    Column("parts_sent", Integer, nullable=False),  # long texts go out in parts; resume after the last
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", String(200)),
    Column("claimed_by", String(64)),  # the instance delivering it
    Column("claimed_until", DateTime(timezone=True)),  # its lease; after that another instance may take it
    Index("ix_outbox_status_chat", "status", "channel", "chat_id", "id"),
    Index("ix_outbox_status_id", "status", "id"),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    sqlite_autoincrement=True,  # ids are never reused: they order a chat's replies
)

# Sending rates shared by every instance (a token bucket as "the next free moment", Unix seconds).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("name", String(40), primary_key=True),  # a channel
    Column("next_at", Float, nullable=False),
)

# Messages handed to a platform that reports their fate later (Twilio status callbacks). The body is
# kept only until the message is delivered, so a late "failed: outside the 24-hour window" can
# still hold it for the person's next message.
deliveries = Table(
    "deliveries",
    metadata,
    Column("platform_id", String(64), primary_key=True),  # Twilio MessageSid
    Column("channel", String(20), nullable=False),
    Column("chat_id", String(128), nullable=False),
    Column("body", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("error_code", String(10)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The hand-off queue: a person asked for a human mediator.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="SET NULL")),  # NULL after "forget"
    Column("channel", String(20), nullable=False),
    Column("language", String(8), nullable=False),
    Column("topics", JSON, nullable=False),  # the entries the person asked about recently
    Column("urgent", Boolean, nullable=False),
    Column("status", String(12), nullable=False),  # waiting | claimed | closed | cancelled | abandoned
    Column("mediator", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("first_reply_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("rating", Integer),
    Column("rated_at", DateTime(timezone=True)),  # counted in the figures of that day
    Column("summary", Text),  # the person's last question, for the queue card; cleared on "forget"
    Column("transcript_upto", Integer),  # messages up to this id were before the claim (the desk's transcript)
    Column("mediator_name", String(128)),  # shown to the person ("Ana, a mediator, has joined")
    Column("last_activity_at", DateTime(timezone=True), nullable=False),  # last message either way
    Column("reminded_at", DateTime(timezone=True)),  # waiting too long: announced again
    Column("flagged_at", DateTime(timezone=True)),  # claimed but no reply: flagged
    Column("holder_since", DateTime(timezone=True)),  # when the current mediator got it (claim, transfer)
    Column("holder_replied_at", DateTime(timezone=True)),  # the current mediator's first reply
    Index("ix_tickets_status_urgent_created", "status", "urgent", "created_at"),
    Index("ix_tickets_person_id", "person_id", "id"),
    # At most one open ticket per person, whatever the number of instances.
    Index(
        "uq_tickets_open_person",
        "person_id",
        unique=True,
        sqlite_where=text("status IN ('waiting', 'claimed')"),
        postgresql_where=text("status IN ('waiting', 'claimed')"),
    ),
    sqlite_autoincrement=True,
)

# The Telegram desk's own storage: a ticket's forum topic and its card in the queue topic. Kept out
# of ``tickets``, which every desk shares; the web console has no topics.
desk_topics = Table(
    "desk_topics",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("thread_id", Integer),  # the ticket's forum topic in the mediator group
    Column("card_message_id", Integer),  # the card in the queue topic, edited once claimed
    Index("ix_desk_topics_thread_id", "thread_id"),
)

# Mediators of the desk, known from their actions in the mediator group.
mediators = Table(
    "mediators",
    metadata,
    Column("id", String(64), primary_key=True),  # "tg:<user id>"
    Column("name", String(128), nullable=False),
    Column("username", String(64)),
    Column("languages", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Small facts about the desk itself, such as the queue topic's thread id.
desk_state = Table(
    "desk_state",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
)

# Staff of the web console (mediators, coordinators, editors, analysts, admins).
staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("role", String(20), nullable=False),  # mediator | coordinator | editor | translator | reviewer | ...
    Column("languages", String(100)),  # a translator's or reviewer's languages: "uk,ru"
    Column("password_hash", Text),  # argon2; NULL until set through a one-time link
    Column("totp_secret", String(64)),  # the second factor, once enrolled
    Column("setup_token_hash", String(64)),  # a one-time link to set the password (and enrol TOTP)
    Column("setup_expires_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Signed-in browsers: only a hash of the cookie's token is stored.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("second_factor", Boolean, nullable=False),  # the TOTP code was given in this session
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_staff_sessions_user_id", "user_id"),
)

# Failed sign-ins, by login and by address, for throttling.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False),  # "login:<name>" or "ip:<address>"
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_key_at", "key", "at"),
)

# Private notes on a ticket: for mediators only, never sent to the person; personal data.
ticket_notes = Table(
    "ticket_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(64), nullable=False),
    Column("author_name", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_ticket_notes_ticket_id", "ticket_id", "id"),
    Index("ix_ticket_notes_created_at", "created_at"),
)

# Files of a conversation with a mediator (photos and PDFs of documents, both ways): personal data,
# kept for the retention period, deleted by "forget".
attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="SET NULL")),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),  # in (from the person) | out (from a mediator)
    Column("channel", String(20), nullable=False),
    Column("platform_ref", Text),  # Telegram file_id, or Twilio's media URL, to fetch it
    Column("mime", String(100)),
    Column("filename", String(200)),
    Column("size", Integer),
    Column("content", LargeBinary),  # NULL until fetched
    Column("status", String(10), nullable=False),  # pending | ready | failed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_attachments_ticket_id", "ticket_id", "id"),
    Index("ix_attachments_created_at", "created_at"),
)

# Labels mediators put on a ticket ("housing", "needs-interpreter"): for finding and counting.
ticket_labels = Table(
    "ticket_labels",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("label", String(30), primary_key=True),
)

# Referrals of a person to a partner service (a contact of the knowledge base), with their consent.
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="SET NULL")),
    Column("person_id", Integer, ForeignKey("people.id", ondelete="SET NULL")),  # NULL after "forget"
    Column("contact_id", String(64), nullable=False),
    # asked → agreed | declined; agreed → sent → accepted → done; or cancelled
    Column("status", String(12), nullable=False),
    Column("mediator", String(64), nullable=False),
    Column("mediator_name", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("follow_up_at", DateTime(timezone=True)),  # remind the mediator from then on
    Index("ix_referrals_ticket_id", "ticket_id"),
    Index("ix_referrals_follow_up", "status", "follow_up_at"),
)

# Who opened, claimed, wrote to, closed, exported or deleted which conversation, and when. Holds no
# message text; kept longer than messages. "forget" removes the person link, not the entry.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),  # "web:<login>", "tg:<user id>", "system"
    Column("actor_name", String(128), nullable=False),
    Column("action", String(40), nullable=False),
    Column("ticket_id", Integer),  # no foreign key: the entry outlives the ticket
    Column("person_id", Integer, ForeignKey("people.id", ondelete="SET NULL")),
    Column("detail", String(200)),  # never message text
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_ticket_id", "ticket_id"),
)

PERSONAL_TABLES = (
    messages,
    feedback,
    unanswered,
    conversations,
    ticket_notes,
    attachments,
)  # deleted before people on "forget"


# Changes staged in the editors' studio (an example question for an entry, from the unanswered
# inbox), published together after the checks pass; the row stays as the history (who, when).
content_changes = Table(
    "content_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # "example"
    Column("entry_id", String(80), nullable=False),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("actor_name", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),  # pending, published, refused, withdrawn
    Column("decided_at", DateTime(timezone=True)),
    Column("reason", Text),
    Index("ix_content_changes_status", "status", "id"),
)


# The city's figures: counts per period (a day, or a week/month for distinct people) × channel ×
# language × subject (an entry, a topic, a partner organisation, a waiting-time bucket, a rating)
# × metric. No text and no identifier of a person: kept for ever, untouched by "forget" and by
# retention. Rolled up from the logs once a period is over (bot/figures.py).
figures = Table(
    "figures",
    metadata,
    Column("period", String(5), primary_key=True),  # day | week | month
    Column("start", Date, primary_key=True),  # the period's first day (Europe/Bucharest)
    Column("channel", String(20), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("subject", String(80), primary_key=True),  # "" where the metric has none
    Column("metric", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

# The periods already rolled up: a period is counted once, then never again.
figure_periods = Table(
    "figure_periods",
    metadata,
    Column("period", String(5), primary_key=True),
    Column("start", Date, primary_key=True),
    Column("rolled_at", DateTime(timezone=True), nullable=False),
)

# The web chat's mailboxes: what each conversation shows, in order (bot/channels/web.py). A row is
# stored once per outbox job or posted message (``ref``); deleted with the person ("forget"),
# after the retention period, and a farewell once it was read or expired.
web_messages = Table(
    "web_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation", String(64), nullable=False),
    Column("ref", String(80), nullable=False, unique=True),  # "job:<outbox id>" or "in:<browser's message id>"
    Column("body", JSON, nullable=False),  # safe HTML, language, direction, buttons, who wrote it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Index("ix_web_messages_conversation", "conversation", "id"),
    sqlite_autoincrement=True,  # ids only grow, even after deletions: the browser asks for those after its last
)

# "Was this helpful?" on the help centre's pages: which page, the answer, when. Nobody's identity.
page_feedback = Table(
    "page_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", String(80), nullable=False),
    Column("language", String(8), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

"""The messenger-neutral runtime: ordered intake, the send limiter, the outbox sender."""

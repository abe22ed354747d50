"""The API poller's activities (DESIGN §5.5): a partner's paged API synchronised into Postgres."""

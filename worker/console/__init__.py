"""The operator console: server-rendered pages served by the API process (DESIGN §7)."""

"""The embedded stack behind `stepwise dev` and the tests: Temporal dev server, Postgres,
the AWS emulator and the partner emulators, all on loopback, no Docker."""

"""Operations shared by the HTTP API and the CLI: start a pipeline, read its status, act on it."""

"""Logic shared by the API and the CLI: start workflows, read their status, decide."""

"""The API poller's workflows (DESIGN §5.5): one job, its slices of pages, the retention purge."""

"""The translation projects pipeline's workflows (DESIGN §5.6)."""

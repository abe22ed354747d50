"""The booking pipeline's workflows."""

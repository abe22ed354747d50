"""The b2b pipeline's workflows."""

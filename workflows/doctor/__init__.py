"""The doctor pipeline's workflows."""

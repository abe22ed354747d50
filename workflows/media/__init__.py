"""The media pipeline's workflows."""

"""The recon pipeline's workflows."""

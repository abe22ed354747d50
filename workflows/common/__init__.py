"""Shared by every workflow: the step runner (step control), retry shapes, step policies."""

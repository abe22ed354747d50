"""Shared by every pipeline's activities: AWS, Postgres, notifications, partner HTTP, resources, step control."""

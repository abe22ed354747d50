"""The shipment documents workflow (DESIGN §5.7)."""

"""Shipment documents (DESIGN §5.7): Textract form analysis, Comprehend entities, the fields each
document type needs with their confidence, review of what the machine is not sure of, and one
consolidated shipment record."""

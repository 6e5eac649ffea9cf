"""Pure domain code of the events service (no FastAPI, Kafka or MongoDB imports)."""

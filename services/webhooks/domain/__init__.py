"""The webhooks service's pure domain: endpoints, event type filters, addresses, the delivery policy
(retries, Retry-After, outcomes, rate limits) and Standard Webhooks signatures. No FastAPI, Kafka or
MongoDB here; time is passed in."""

"""The Kafka clients' settings that production's guarantees rest on (docker-compose.production.yml):
producers wait for every in-sync replica, topics are created replicated with a minimum in sync."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.topics import all_topics
from runtime import kafka
from runtime.settings import Settings


def test_producers_wait_for_every_in_sync_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict] = []
    monkeypatch.setattr(kafka, "AIOKafkaProducer", lambda **options: made.append(options) or options)
    kafka.make_producer(Settings(kafka_bootstrap_servers="k1:9092,k2:9092,k3:9092"))
    (options,) = made
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True
    assert options["bootstrap_servers"] == "k1:9092,k2:9092,k3:9092"


def test_topics_are_created_with_the_replication_factor_and_min_in_sync_replicas() -> None:
    settings = Settings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    for topic in all_topics():
        request = kafka.topic_request(topic, settings)
        assert request.name == topic.name
        assert request.num_partitions == topic.partitions
        assert request.replication_factor == 3
        assert request.topic_configs == {**topic.config, "min.insync.replicas": "2"}


def test_without_a_minimum_topics_keep_the_brokers_default() -> None:
    (topic, *_) = all_topics()
    request = kafka.topic_request(topic, Settings())
    assert request.replication_factor == 1
    assert "min.insync.replicas" not in request.topic_configs
    assert request.topic_configs == topic.config


def test_a_minimum_above_the_replication_factor_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_MIN_INSYNC_REPLICAS"):
        Settings(kafka_replication_factor=1, kafka_min_insync_replicas=2)
    assert Settings(kafka_replication_factor=3, kafka_min_insync_replicas=3).kafka_min_insync_replicas == 3

def test_healthz_reports_database_and_queue(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"]["ok"] is True
    assert "pending" in body["checks"]["queue"]


def test_healthz_says_degraded_when_the_queue_is_unreachable(client, db, monkeypatch):
    from textpilot.common import queue_status

    def broken():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(queue_status.HUEY, "pending_count", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["queue"] == {"ok": False, "backend": type(queue_status.HUEY).__name__, "error": "redis is down"}

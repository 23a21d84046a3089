#!/usr/bin/env python3
"""Writes the Postman collections of the Newman comparison (benches/newman.sh).

chain_100: the token-and-items chain of benches/workloads/chain_100.yaml as a Postman user writes
it: a test script per request that checks the status with pm.test and keeps the next id with
pm.environment.set (translated into declarative checks and captures). chain_100_scripted: the
same with the set under an `if`, so every test script runs in apiflow's JavaScript sandbox.
startup: one GET /health with a test.
"""
import json
import os
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def collection(name, items):
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "apiflow-bench-" + name)),
            "name": name,
            "schema": SCHEMA,
        },
        "item": items,
        "variable": [{"key": "baseUrl", "value": "http://127.0.0.1:8080"}],
    }


def test(*lines):
    return [{"listen": "test", "script": {"type": "text/javascript", "exec": list(lines)}}]


def chain(steps, scripted=False):
    items = [{
        "name": "token",
        "event": test(
            'pm.test("status is 200", function () { pm.response.to.have.status(200); });',
            'pm.environment.set("token", pm.response.json().access_token);',
        ),
        "request": {
            "method": "POST",
            "header": [],
            "body": {"mode": "urlencoded", "urlencoded": [
                {"key": "grant_type", "value": "client_credentials"},
                {"key": "client_id", "value": "bench"},
                {"key": "client_secret", "value": "s3cret"},
            ]},
            "url": "{{baseUrl}}/token",
        },
    }]
    for n in range(1, steps):
        url = "{{baseUrl}}/items/1" if n == 1 else "{{baseUrl}}/items/{{next_%d}}" % (n - 1)
        keep = 'pm.environment.set("next_%d", pm.response.json().links.next.id);' % n
        if scripted:
            # A condition around the set: the importer keeps such a script whole, for the sandbox.
            keep = "if (pm.response.code === 200) { %s }" % keep
        items.append({
            "name": "item %d" % n,
            "event": test(
                'pm.test("status is 200", function () { pm.response.to.have.status(200); });',
                keep,
            ),
            "request": {
                "method": "GET",
                "header": [{"key": "Authorization", "value": "Bearer {{token}}"}],
                "url": url,
            },
        })
    name = "chain of %d requests%s" % (steps, " (scripts run in the sandbox)" if scripted else "")
    return collection(name, items)


def startup():
    return collection("startup", [{
        "name": "health",
        "event": test('pm.test("ok", function () { pm.expect(pm.response.json().status).to.eql("ok"); });'),
        "request": {"method": "GET", "header": [], "url": "{{baseUrl}}/health"},
    }])


for name, value in [
    ("chain_100", chain(100)),
    ("chain_100_scripted", chain(100, scripted=True)),
    ("startup", startup()),
]:
    with open(os.path.join(HERE, name + ".postman_collection.json"), "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")

#!/usr/bin/env python3
"""Writes the Arazzo side of `benches/arazzo.sh`: the chain of `benches/workloads/chain_100.yaml`
(a token, then 99 items each fetched by the id the previous one gave) and the start-up request,
as Arazzo documents over `items.openapi.yaml`."""
import pathlib

HERE = pathlib.Path(__file__).parent

HEAD = """arazzo: 1.1.0
info:
  title: {title}
  version: 1.0.0
sourceDescriptions:
  - name: items
    url: ./items.openapi.yaml
    type: openapi
workflows:
  - workflowId: {workflow}
    steps:
"""


def chain(steps: int) -> str:
    lines = [
        "      - stepId: token",
        "        operationId: token",
        "        requestBody:",
        "          contentType: application/x-www-form-urlencoded",
        "          payload: { grant_type: client_credentials, client_id: bench, client_secret: s3cret }",
        "        successCriteria:",
        "          - condition: $statusCode == 200",
        "        outputs:",
        "          token: $response.body#/access_token",
    ]
    previous = None
    for n in range(1, steps):
        item = "1" if previous is None else f"$steps.{previous}.outputs.next"
        lines += [
            f"      - stepId: item{n}",
            "        operationId: getItem",
            "        parameters:",
            f"          - {{ name: id, in: path, value: {item} }}",
            "        x-security:",
            "          - schemeName: bearer",
            "            values: { token: $steps.token.outputs.token }",
            "        successCriteria:",
            "          - condition: $statusCode == 200",
            "        outputs:",
            "          next: $response.body#/links/next/id",
        ]
        previous = f"item{n}"
    return HEAD.format(title=f"chain of {steps} steps", workflow="chain") + "\n".join(lines) + "\n"


STARTUP = HEAD.format(title="start-up", workflow="startup") + """      - stepId: health
        operationId: health
        successCriteria:
          - condition: $statusCode == 200
          - condition: $response.body#/status == 'ok'
"""

if __name__ == "__main__":
    (HERE / "chain_100.arazzo.yaml").write_text(chain(100))
    (HERE / "startup.arazzo.yaml").write_text(STARTUP)

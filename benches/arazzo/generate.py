#!/usr/bin/env python3
"""Writes the Arazzo side of `benches/arazzo.sh`: the chain of `benches/workloads/chain_100.yaml`
(a token, then 99 items each fetched by the id the previous one gave) and the start-up request,
as Arazzo documents over `items.openapi.yaml`, and as apiflow workflows calling the same
operations with `openapi:` and `operation:`, whose responses get the same OpenAPI checks."""
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


def chained(first: list[str], item, steps: int) -> str:
    """The first step's lines, then those of steps 1 to `steps - 1`, each given its number and
    the number of the item before it (`None` for the first item)."""
    lines = list(first)
    for n in range(1, steps):
        lines += item(n, n - 1 if n > 1 else None)
    return "\n".join(lines) + "\n"


def arazzo_item(n: int, previous: int | None) -> list[str]:
    value = "1" if previous is None else f"$steps.item{previous}.outputs.next"
    return [
        f"      - stepId: item{n}",
        "        operationId: getItem",
        "        parameters:",
        f"          - {{ name: id, in: path, value: {value} }}",
        "        x-security:",
        "          - schemeName: bearer",
        "            values: { token: $steps.token.outputs.token }",
        "        successCriteria:",
        "          - condition: $statusCode == 200",
        "        outputs:",
        "          next: $response.body#/links/next/id",
    ]


def chain(steps: int) -> str:
    token = [
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
    head = HEAD.format(title=f"chain of {steps} steps", workflow="chain")
    return head + chained(token, arazzo_item, steps)


STARTUP = HEAD.format(title="start-up", workflow="startup") + """      - stepId: health
        operationId: health
        successCriteria:
          - condition: $statusCode == 200
          - condition: $response.body#/status == 'ok'
"""

WORKFLOW_HEAD = """name: {title}
openapi: items.openapi.yaml
inputs:
  base_url: {{ default: "http://127.0.0.1:8080" }}
steps:
"""


def checked_item(n: int, previous: int | None) -> list[str]:
    value = "1" if previous is None else f"{{{{ next_{previous} }}}}"
    return [
        f"  - name: item {n}",
        "    operation: getItem",
        "    request:",
        '      url: "{{ base_url }}"',
        f'      path_params: {{ id: "{value}" }}',
        '      auth: { bearer: "{{ token }}" }',
        "    expect: { status: 200 }",
        f"    extract: {{ next_{n}: $.links.next.id }}",
    ]


def checked_chain(steps: int) -> str:
    token = [
        "  - name: token",
        "    operation: token",
        "    request:",
        '      url: "{{ base_url }}"',
        "      form: { grant_type: client_credentials, client_id: bench, client_secret: s3cret }",
        "    expect: { status: 200 }",
        "    extract: { token: $.access_token }",
    ]
    title = f"chain of {steps} steps, checked against the OpenAPI description"
    return WORKFLOW_HEAD.format(title=title) + chained(token, checked_item, steps)


CHECKED_STARTUP = WORKFLOW_HEAD.format(title="start-up, checked against the OpenAPI description") + """  - name: health
    operation: health
    request: { url: "{{ base_url }}" }
    expect:
      status: 200
      json: { "$.status": ok }
"""

if __name__ == "__main__":
    (HERE / "chain_100.arazzo.yaml").write_text(chain(100))
    (HERE / "chain_11.arazzo.yaml").write_text(chain(11))
    (HERE / "startup.arazzo.yaml").write_text(STARTUP)
    (HERE / "chain_100.checked.yaml").write_text(checked_chain(100))
    (HERE / "startup.checked.yaml").write_text(CHECKED_STARTUP)

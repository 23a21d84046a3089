#!/usr/bin/env python3
"""Writes the benchmark workflows: a chain of N steps written out one by one, start-up, and
the two load workloads (`benches/load.sh`), as apiflow workflows, and the chain and start-up as
Hurl files for the side-by-side run (`HURL=1 benches/run.sh`)."""
import pathlib

HERE = pathlib.Path(__file__).parent


def chain(steps: int) -> str:
    lines = [
        f"name: chain of {steps} steps",
        "inputs:",
        "  base_url: { default: \"http://127.0.0.1:8080\" }",
        "steps:",
        "  - name: token",
        "    request:",
        "      method: POST",
        "      url: \"{{ base_url }}/token\"",
        "      form: { grant_type: client_credentials, client_id: bench, client_secret: s3cret }",
        "    expect: { status: 200 }",
        "    extract: { token: $.access_token }",
        "  - name: item 1",
        "    request:",
        "      url: \"{{ base_url }}/items/1\"",
        "      auth: { bearer: \"{{ token }}\" }",
        "    expect: { status: 200 }",
        "    extract: { next_1: $.links.next.id }",
    ]
    for n in range(2, steps):
        lines += [
            f"  - name: item {n}",
            "    request:",
            f"      url: \"{{{{ base_url }}}}/items/{{{{ next_{n - 1} }}}}\"",
            "      auth: { bearer: \"{{ token }}\" }",
            "    expect: { status: 200 }",
            f"    extract: {{ next_{n}: $.links.next.id }}",
        ]
    return "\n".join(lines) + "\n"


STARTUP = """name: start-up
inputs:
  base_url: { default: "http://127.0.0.1:8080" }
steps:
  - name: health
    request: { url: "{{ base_url }}/health" }
    expect:
      status: 200
      json: { "$.status": ok }
"""

GET_ITEM = """name: one GET
inputs:
  base_url: { default: "http://127.0.0.1:8080" }
  token: { default: "at_0" }
steps:
  - name: item
    request:
      url: "{{ base_url }}/items/1"
      auth: { bearer: "{{ token }}" }
    expect: { status: 200 }
"""


def hurl_chain(steps: int) -> str:
    entries = [
        "POST {{base_url}}/token\n[FormParams]\ngrant_type: client_credentials\n"
        "client_id: bench\nclient_secret: s3cret\nHTTP 200\n[Captures]\n"
        'token: jsonpath "$.access_token"\n',
        "GET {{base_url}}/items/1\nAuthorization: Bearer {{token}}\nHTTP 200\n[Captures]\n"
        'next_1: jsonpath "$.links.next.id"\n',
    ]
    for n in range(2, steps):
        entries.append(
            f"GET {{{{base_url}}}}/items/{{{{next_{n - 1}}}}}\nAuthorization: Bearer {{{{token}}}}\n"
            f'HTTP 200\n[Captures]\nnext_{n}: jsonpath "$.links.next.id"\n'
        )
    return "\n".join(entries)


HURL_STARTUP = """GET {{base_url}}/health
HTTP 200
[Asserts]
jsonpath "$.status" == "ok"
"""

if __name__ == "__main__":
    (HERE / "chain_100.yaml").write_text(chain(100))
    (HERE / "chain_1000.yaml").write_text(chain(1000))
    (HERE / "startup.yaml").write_text(STARTUP)
    (HERE / "chain_11.yaml").write_text(chain(11))
    (HERE / "get_item.yaml").write_text(GET_ITEM)
    (HERE / "chain_100.hurl").write_text(hurl_chain(100))
    (HERE / "startup.hurl").write_text(HURL_STARTUP)

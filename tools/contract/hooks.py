"""Schemathesis hooks for creditgate's contract tests (tools/contract/run).

Screening uploads are NDJSON as well as CSV: schemathesis has no serializer
for application/x-ndjson, so generated bodies are written as one JSON value
per line (a string is sent as it is, as the upload's raw text).
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")

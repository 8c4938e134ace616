"""Python `requests` as a plain client, one call per line: the e2e suite writes a JSON call to
stdin and reads the JSON answer from stdout. Each call is sent the way a Python user writes it:
`requests.request(method, url, headers=..., json=...)`, no session, no cookies, no retries.

stdin:  {"id": 1, "method": "DELETE", "url": "...", "bearer": "...", "form": "none", "json": {...}}
        form: "none" (no body), "cl0" (Content-Length: 0), "json0" (Content-Type: application/json
        and zero bytes), "json" (the `json` value as the body) or "urlenc" (`data=` the `fields`
        dict: a form body); "basic": [id, secret] is `auth=(id, secret)`
stdout: {"id": 1, "status": 204, "headers": {...}, "text": "..."} or {"id": 1, "error": "..."}
"""

import json
import sys

import requests

for line in sys.stdin:
    call = json.loads(line)
    headers = {}
    if call.get("bearer"):
        headers["Authorization"] = f"Bearer {call['bearer']}"
    kwargs = {}
    form = call["form"]
    if call.get("basic"):
        kwargs["auth"] = tuple(call["basic"])
    if form == "json":
        kwargs["json"] = call["json"]
    elif form == "urlenc":
        kwargs["data"] = call["fields"]
    elif form == "cl0":
        headers["Content-Length"] = "0"
    elif form == "json0":
        headers["Content-Type"] = "application/json"
        kwargs["data"] = b""
    try:
        res = requests.request(
            call["method"],
            call["url"],
            headers=headers,
            timeout=15,
            allow_redirects=False,
            **kwargs,
        )
        answer = {
            "status": res.status_code,
            "headers": {k.lower(): v for k, v in res.headers.items()},
            "text": res.text,
        }
    except requests.RequestException as err:
        answer = {"error": f"{type(err).__name__}: {err}"}
    print(json.dumps({"id": call["id"], **answer}), flush=True)

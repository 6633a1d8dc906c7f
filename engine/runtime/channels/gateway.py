"""One HTTP call to a gateway (urllib, as the webhook): JSON in, JSON out, errors raised."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from qihu.engine.runtime.channels.base import ChannelError


def call(url: str, body: bytes | None, headers: dict[str, str], timeout: float, method: str = "POST") -> Any:
    """The JSON the gateway answered (None for an empty answer); ChannelError on any failure."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as e:
        raise ChannelError(f"网关答复 HTTP {e.code} (gateway answered HTTP {e.code}: {e.reason})") from e
    except (urllib.error.URLError, OSError) as e:
        raise ChannelError(f"连不上网关 (cannot reach the gateway: {e})") from e
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ChannelError(f"网关答复的不是 JSON (the gateway's answer is not JSON: {raw[:200]!r})") from e


def post_json(url: str, payload: Any, headers: dict[str, str], timeout: float) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return call(url, body, {"Content-Type": "application/json; charset=utf-8", **headers}, timeout)

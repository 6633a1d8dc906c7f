"""Who is calling: the default identity of the web layer, replaceable by the host app.

The default trusts an `X-Qihu-User` header or a `?user=` query parameter. That is a
stand-in until real login exists (see the login issue): anyone can claim any name, so it
is only fit for a trusted network, the demo and tests. A host application passes its own
`current_user` callable to `Qihu(...)` to plug in its login.
"""
from flask import request

USER_HEADER = "X-Qihu-User"


def header_or_query_user():
    """The user name from the X-Qihu-User header, else from ?user=; None when neither."""
    name = (request.headers.get(USER_HEADER) or request.args.get("user") or "").strip()
    return name or None

"""Who is calling: the identities the web layer knows, replaceable by the host app.

- qihu's own sign-in (web/pages/auth.py, local accounts with Flask-Login): the default.
- The `X-Qihu-User` header or `?user=` query parameter: anyone can claim any name with
  it, so it is only believed when app.config["QIHU_TRUST_USER_HEADER"] is true: for tests,
  and for a trusted network behind a gateway that sets the header itself.
- A host application passes its own `current_user` callable to `Qihu(...)` instead.
"""
from flask import current_app, request

USER_HEADER = "X-Qihu-User"
TRUST_CONFIG = "QIHU_TRUST_USER_HEADER"


def header_or_query_user():
    """The user name from the X-Qihu-User header, else from ?user=; None when neither."""
    name = (request.headers.get(USER_HEADER) or request.args.get("user") or "").strip()
    return name or None


def trusted_header_user():
    """The header/query identity when the app trusts it, else None."""
    if current_app.config.get(TRUST_CONFIG):
        return header_or_query_user()
    return None

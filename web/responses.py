"""JSON responses with Chinese kept readable (no \\uXXXX escapes), whatever the host app's JSON settings."""
import json

from flask import Response


def json_response(obj, status=200):
    body = json.dumps(obj, ensure_ascii=False, default=str)
    return Response(body, status=status, mimetype="application/json")


def error_response(status, message, **extra):
    return json_response({"error": message, **extra}, status)

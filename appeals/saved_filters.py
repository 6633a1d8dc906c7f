"""Saved inbox filters: a user names the query string of an inbox view and gets it back.

The query string is checked here, once, against the inbox's own parameters, so a saved
filter always opens an inbox that works: unknown names, repeated names and bad values are
refused (ValidationFailed, with the field and the reason).
"""
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import delete, func, select

from qihu.engine.errors import NotFound, ValidationFailed
from qihu.appeals.models import SavedFilter
from qihu.engine.storage.limits import problem
from qihu.engine.tasks.service import COLOURS, ORDERS, PRIORITIES

MAX_NAME = 100
MAX_QUERY = 1000
MAX_TEXT = 100
MAX_PER_USER = 20
TRUE = ("1", "on", "true")

# query-string name -> inbox() keyword; the order is the canonical order of a saved query
PARAMS = {"definition": "definition_key", "region": "region", "colour": "colour", "priority": "priority",
          "overdue": "overdue", "q": "text", "order": "order"}


def parse_query(query):
    """{param: value} of an inbox query string (a leading "?" is fine; empty values dropped).
    Raises ValueError naming the first bad parameter."""
    query = (query or "").strip().lstrip("?")
    if len(query) > MAX_QUERY:
        raise ValueError(f"longer than {MAX_QUERY} characters")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), max_num_fields=20)
    except ValueError as e:
        raise ValueError(f"not a query string ({e})") from None
    seen = {}
    for name, value in pairs:
        if name not in PARAMS:
            raise ValueError(f"unknown parameter {name!r} (known: {', '.join(PARAMS)})")
        if name in seen:
            raise ValueError(f"parameter {name!r} given twice")
        seen[name] = value.strip()
    return check({k: v for k, v in seen.items() if v != ""})


def check(params):
    """The params dict if every value is one the inbox accepts; ValueError naming the bad one."""
    allowed = {"colour": ("none", *COLOURS), "priority": tuple(PRIORITIES), "order": tuple(ORDERS),
               "overdue": TRUE + ("0", "false", "off")}
    for name, values in allowed.items():
        if name in params and params[name] not in values:
            raise ValueError(f"{name}={params[name]!r}: must be one of {', '.join(values)}")
    for name, limit in (("q", MAX_TEXT), ("definition", 200), ("region", 100)):
        if len(params.get(name, "")) > limit:
            raise ValueError(f"{name}: longer than {limit} characters")
    return params


def inbox_kwargs(params):
    """Keyword arguments of engine.tasks.inbox() for checked params."""
    kw = {PARAMS[k]: v for k, v in params.items() if k != "overdue"}
    if params.get("overdue") in TRUE:
        kw["overdue"] = True
    return kw


def canonical(params):
    """The query string a filter is stored as: known names in a fixed order, no empty values."""
    return urlencode([(k, params[k]) for k in PARAMS if params.get(k) not in (None, "")
                      and not (k == "overdue" and params[k] not in TRUE)])


def _dict(r):
    return {"id": r.id, "user": r.user, "name": r.name, "query": r.query, "created_at": r.created_at.isoformat()}


class SavedFilters:
    def __init__(self, engine):
        self.engine = engine

    def save(self, user, name, query):
        """Save (or, with the same name, replace) a filter of `user`; returns it as a dict."""
        errors = {}
        name = (name or "").strip()
        if not name:
            errors["name"] = "required"
        elif len(name) > MAX_NAME:
            errors["name"] = f"longer than {MAX_NAME} characters"
        elif problem(name) is not None:
            errors["name"] = problem(name)[1]
        if problem(query) is not None:
            errors["query"] = problem(query)[1]
        try:
            stored = canonical(parse_query(query))
        except ValueError as e:
            errors["query"] = str(e)
        if not user:
            errors["user"] = "required"
        if errors:
            raise ValidationFailed("saved filter: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            row = s.scalar(select(SavedFilter).where(SavedFilter.user == user, SavedFilter.name == name))
            if row is None:
                n = s.scalar(select(func.count()).select_from(SavedFilter).where(SavedFilter.user == user))
                if n >= MAX_PER_USER:
                    raise ValidationFailed(f"saved filter: {user} already has {n} (at most {MAX_PER_USER}); "
                                           "delete one first", {"name": f"at most {MAX_PER_USER} filters"})
                row = SavedFilter(user=user, name=name, query=stored, created_at=now)
                s.add(row)
            else:
                row.query = stored
            s.flush()
            return _dict(row)

    def list(self, user):
        """The user's saved filters, by name."""
        with self.engine.db.read() as s:
            rows = s.scalars(select(SavedFilter).where(SavedFilter.user == user)
                             .order_by(SavedFilter.name, SavedFilter.id))
            return [_dict(r) for r in rows]

    def get(self, user, filter_id):
        with self.engine.db.read() as s:
            row = s.get(SavedFilter, filter_id)
            if row is None or row.user != user:     # someone else's is not there for this user
                raise NotFound(f"no saved filter {filter_id} of {user}")
            return _dict(row)

    def delete(self, user, filter_id):
        """Delete one of the user's own filters; NotFound for an unknown one or someone else's."""
        with self.engine.db.write() as s:
            n = s.execute(delete(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.user == user)).rowcount
        if not n:
            raise NotFound(f"no saved filter {filter_id} of {user}")

"""The figures of the 晾晒 dashboard: one fact row per appeal, monthly counters, the read API.

How a diagram says what it counts (no Python per mechanism or regional variant)
--------------------------------------------------------------------------------
A process declares figures with process-level camunda:properties named `figure.*`:

  figure.department      expression: the department (group id) the appeal counts against. Required:
                         a process without it keeps no figures.
  figure.departmentName  expression: the department's name as shown on the page (default: the id).
  figure.title           expression: the appeal's summary for the ledger and the warning board.
  figure.company         expression: the enterprise.
  figure.solved          expression, required: true when the closed appeal was really solved (办成).
  figure.closedAt        element ids (user tasks, comma-separated): while every open task of the appeal
                         is one of these (the enterprise's 好差评), it counts as closed (办结). An
                         instance that ends is closed too. If a bad rating opens another step
                         (二次督办), the appeal is open again and leaves 'closed' until it closes anew.
  figure.signFor         element ids (user tasks): the sign-for step (签收) whose due date the on-time
                         sign-for rate measures.
  figure.rating          expression: the enterprise's rating (e.g. min(rate_plan, rate_process, rate_result)).
  figure.satisfied       values of figure.rating counted as satisfied, comma-separated (e.g. 5,4,3 =
                         非常满意, 满意, 基本满意). Required with figure.rating.

Expressions are Python (as in sequence-flow conditions; `${...}` is accepted too), run in the
engine's sandbox on the appeal's variables. A variable not set yet (NameError) gives None: the
department is often known only once the appeal is assigned; `var("name", default)` reads a
variable that only some paths set (e.g. `var("final_result") != "cannot"`). engine/dialect/checks.py refuses a broken
expression, an unknown element or an unknown `figure.*` name at deploy time, with element and line.

When the figures are written
----------------------------
Runtime._save calls `on_save(uow)` in the instance's transaction (a step_saved listener). Only
when something the figures depend on changed (the instance started or ended, a user task opened or
closed, a return) does it read the appeal's fact row and task rows (one query with the notices'
ticket, see appeals.step_rows; none for an appeal that starts now), take the task rows the step
itself writes from the unit of work (`uow.writes.pending`), evaluate the expressions and rewrite the
`appeal_fact` row; then it moves the appeal's contribution in `figure_month` by increments and
decrements (old contribution out, new one in), so the summary always equals a recount of the facts
(`recount()`). Both are written with the step's other rows (`uow.writes`: one statement on
PostgreSQL). An SLA job that turns a task's colour calls `on_colour` (one UPDATE).

Instances that ran before the figures existed (an upgrade) or before their diagram declared them
have no row until their next step, ended ones never; counters may drift after a manual SQL fix.
`rebuild()` (`qihu figures rebuild`) recomputes the rows from the stored states and task rows and
then figure_month from the rows (its docstring has the rules); `check_consistency()` (`qihu figures
check`) lists where figure_month differs from a recount.

Counting rules (the seeds' rates: ../shared/MECHANISMS.md lines 12-13, 55, 116)
- Appeals count in the month they were accepted (started), Beijing time: the figures of a month
  are those of its intake, and closing an appeal later updates the month it came in.
- Cancelled instances (entered by mistake, duplicates; cancelling is for administrators) count
  nowhere: their fact row stays, status 'cancelled', for the ledger, and their counters go.
- An appeal's deadline is the latest due date of its steps outside figure.closedAt; it is solved
  late (超时办成) when it was solved and closed after that deadline.
- Working days to close: engine.calendar.workdays_between(started, closed, region), fractions of
  days included (engine/workcalendar.py); plain days when that year's calendar is unknown.
- Colour: the worst SLA colour of the appeal's open tasks (red, orange, yellow, green, blue).
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from qihu.engine import workcalendar as workcal
from qihu.engine.errors import Forbidden
from qihu.engine.storage.models import Incident, Task
from qihu.engine.types import IncidentStatus
from qihu.appeals import incidents as said
from qihu.appeals.models import AppealFact, FigureMonth
from qihu.engine.dialect.specs import expression_of
from qihu.engine.dialect.state import all_tasks
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.workcalendar import CalendarYearUnknown

PREFIX = "figure."
EXPRESSIONS = ("department", "departmentName", "title", "company", "solved", "rating")
ELEMENT_LISTS = ("closedAt", "signFor")
KNOWN = set(EXPRESSIONS) | set(ELEMENT_LISTS) | {"satisfied"}

COLOURS = ("red", "orange", "yellow", "green", "blue")
RANK = {c: i for i, c in enumerate(COLOURS)}
NO_COLOUR = len(COLOURS)      # open, but no step with a due date
CLOSED_RANK = 9               # not open: never on the warning board

COUNTERS = ("accepted", "closed", "solved", "solved_late", "sign_counted", "signed_on_time", "returned",
            "rated", "satisfied", "workdays_sum")
# Hot-path statements are built once (building one costs more than running it on SQLite).
_F, _T = AppealFact.__table__, Task.__table__
_SELECT_FACT = select(_F).where(_F.c.instance_id == bindparam("iid"))
TASK_FIELDS = ("id", "element_id", "name", "status", "due_at", "sla_colour", "created_at", "completed_at",
               "completed_by")
_SELECT_TASKS = select(*(_T.c[c] for c in TASK_FIELDS)).where(_T.c.instance_id == bindparam("iid"))
_FACT_COLUMNS = [c.name for c in _F.columns if c.name != "instance_id"]
_UPDATE_FACT = update(_F).where(_F.c.instance_id == bindparam("iid")) \
    .values({c: bindparam(f"v_{c}", type_=_F.c[c].type) for c in _FACT_COLUMNS})
GROUPS = {"month": "month", "region": "region", "mechanism": "definition_key", "department": "department"}

# Written on the page. Rates are among appeals accepted in the months chosen.
DEFINITIONS = [
    {"key": "accepted", "name": "受理件数", "formula": "所选月份受理（立案）的诉求件数，已撤销的不计"},
    {"key": "closed_rate", "name": "办结率", "formula": "办结率 = 办结件数 / 受理件数"},
    {"key": "solved_rate", "name": "办成率",
     "formula": "办成率 = 办成件数（问题真正解决，不只是办结）/ 受理件数"},
    {"key": "late_rate", "name": "超时办成率", "formula": "超时办成率 = 超期办成件数 / 办成件数"},
    {"key": "sign_rate", "name": "签收率", "formula": "签收率 = 按时签收件数 / 应签收件数（已到达签收环节的件数）"},
    {"key": "return_rate", "name": "退单率", "formula": "退单率 = 发生过退单的件数 / 受理件数"},
    {"key": "satisfaction_rate", "name": "满意率",
     "formula": "满意率 =（非常满意+满意+基本满意）件数 / 已评价件数（好差评，一事一评）"},
    {"key": "open_by_colour", "name": "在办件预警",
     "formula": "未办结诉求按其在办环节中最严重的时限颜色（红、橙、黄、绿）计数"},
    {"key": "avg_workdays", "name": "平均办结用时", "formula": "平均办结用时 = 办结件的工作日用时之和 / 办结件数（按法定工作日）"},
]


@dataclass(frozen=True)
class FigureSpec:
    """A process's figure.* properties, read once per definition."""
    expressions: dict        # name -> Python source
    closed_at: frozenset
    sign_for: frozenset
    satisfied: frozenset
    mechanism_name: str | None


def read_spec(properties, name=None):
    """The FigureSpec of a process's properties, or None when it declares no figure.department.
    Raises ValueError on what engine/dialect/checks.py refuses (it reports it with element and line)."""
    props = {k[len(PREFIX):]: (v or "").strip() for k, v in (properties or {}).items() if k.startswith(PREFIX)}
    if not props:
        return None
    unknown = sorted(set(props) - KNOWN)
    if unknown:
        raise ValueError(f"unknown property {PREFIX}{unknown[0]} (known: "
                         + ", ".join(PREFIX + k for k in sorted(KNOWN)) + ")")
    for required in ("department", "solved"):
        if not props.get(required):
            raise ValueError(f"{PREFIX}{required} is required when a process declares figures")
    if props.get("rating") and not props.get("satisfied"):
        raise ValueError(f"{PREFIX}rating needs {PREFIX}satisfied (the rating values counted as satisfied)")
    exprs = {k: expression_of(props[k]) or props[k] for k in EXPRESSIONS if props.get(k)}
    return FigureSpec(exprs, _names(props.get("closedAt")), _names(props.get("signFor")),
                      _names(props.get("satisfied")), name)


def _names(text):
    return frozenset(x.strip() for x in (text or "").split(",") if x.strip())


def month_of(moment):
    return moment.astimezone(TIMEZONE).strftime("%Y-%m")


def _rate(num, den):
    return (num / den) if den else None


class Figures:
    DEFINITIONS = DEFINITIONS

    def __init__(self, engine):
        self.engine = engine
        self._specs = {}     # definition id -> FigureSpec | None

    # -- maintenance (called inside the instance's transaction) -----------------------------
    def spec_of(self, definition_id):
        if definition_id not in self._specs:
            definition = self.engine.db_get_definition(definition_id)
            info = self.engine.repository.process(definition)
            self._specs[definition_id] = read_spec(info.properties, info.name or definition.key)
        return self._specs[definition_id]

    def wants(self, uow):
        """Whether on_save has anything to do in this step (then it reads the fact and task rows)."""
        row, before, after = uow.instance, uow.before, uow.after
        if self.spec_of(row.definition_id) is None:
            return False
        # an incident opening also writes the row: an appeal stopped at a failing service task
        # before its first user task must still be on the warning board (as stalled)
        return bool(before.ready.keys() != after.ready.keys() or row.status in ("completed", "cancelled")
                    or uow.done_rows or before.incidents != after.incidents)

    def on_save(self, uow, rows=None):
        """Keep the appeal's fact row and its monthly counters in step with the instance (a
        step_saved listener: runs in the step's transaction, writes with the step's rows).
        `rows`: (fact row, task rows) as appeals.step_rows read them, else they are read here."""
        if not self.wants(uow):
            return
        row, ctx = uow.instance, uow
        spec = self.spec_of(row.definition_id)
        ended = row.status in ("completed", "cancelled")
        if rows is None:
            rows = self._stored_rows(uow)
        old, stored_tasks = rows
        if old is not None and old["status"] == row.status and ended:
            return       # already written as ended (e.g. a second cancel)
        new = self._fact(ctx, spec, old, step_tasks(uow, stored_tasks))
        if _stage_fact(uow.writes, row.id, old, new):
            self._move(uow.writes, old, new)

    @staticmethod
    def _stored_rows(uow):
        """(fact row, task rows) of the appeal as stored; nothing is stored yet of one that starts now."""
        if uow.instance.new:
            return None, []
        conn = uow.session.connection()
        return (conn.execute(_SELECT_FACT, {"iid": uow.instance.id}).mappings().first(),
                conn.execute(_SELECT_TASKS, {"iid": uow.instance.id}).all())

    def _fact(self, ctx, spec, old, tasks=None):
        row, now = ctx.instance, ctx.now
        if tasks is None:
            tasks = ctx.session.connection().execute(_SELECT_TASKS, {"iid": row.id}).all()
        # in the order they happened: opened, then closed (rows opened together: by when they closed)
        tasks.sort(key=lambda t: (t.created_at, t.completed_at is None, t.completed_at or t.created_at))
        open_ = [t for t in tasks if t.status == "ready"]
        data = _variables(ctx.workflow)
        ev = lambda name: self._eval(spec, name, data, row.definition_key)   # noqa: E731

        if row.status == "cancelled":
            status = "cancelled"
        elif row.status == "completed":
            status = "completed"
        else:
            status = "running"
        # Closed: ended, or the latest step is one of figure.closedAt and nothing else is open
        # (waiting for a timer after the rating still counts as closed; a 二次督办 step reopens it).
        closed = status == "completed" or (status == "running" and bool(tasks)
                                           and tasks[-1].element_id in spec.closed_at
                                           and all(t.element_id in spec.closed_at for t in open_))
        started_at = old["started_at"] if old is not None else (_instance_started(ctx) or now)

        department = _text(ev("department"), 200)
        fact = {"instance_id": row.id, "definition_key": row.definition_key,
                "mechanism_name": _text(spec.mechanism_name, 300), "region": row.region,
                "department": department,
                "department_name": _text(ev("departmentName"), 300) or department,
                "business_key": row.business_key, "title": _text(ev("title"), 300),
                "company": _text(ev("company"), 200), "started_at": started_at, "month": month_of(started_at),
                "status": status, "updated_at": now}

        dues = [t.due_at for t in tasks if t.due_at is not None and t.element_id not in spec.closed_at]
        fact["deadline"] = max(dues) if dues else None
        if closed and status != "cancelled":
            was_closed = old is not None and old["closed_at"] is not None and old["status"] != "cancelled"
            closed_at = old["closed_at"] if was_closed else now
            solved = bool(ev("solved"))
            fact.update(closed_at=closed_at, close_month=month_of(closed_at),
                        outcome="solved" if solved else "unsolved",
                        solved_late=bool(solved and fact["deadline"] is not None and closed_at > fact["deadline"]),
                        workdays=self._workdays(started_at, closed_at, row.region))
        else:
            fact.update(closed_at=None, close_month=None, outcome=None, solved_late=False, workdays=None)

        sign = [t for t in tasks if t.element_id in spec.sign_for]
        if sign:
            first = sign[0]
            done = next((t for t in sign if t.status == "completed"), None)
            fact["sign_due_at"] = first.due_at
            fact["signed_at"] = done.completed_at if done else None
            fact["signed_on_time"] = bool(done and (first.due_at is None or done.completed_at <= first.due_at))
        else:
            fact.update(sign_due_at=None, signed_at=None, signed_on_time=None)
        fact["returns"] = sum(1 for t in tasks if t.status == "returned")

        rating = _text(ev("rating"), 50) if "rating" in spec.expressions else None
        fact["rating"] = rating
        fact["satisfied"] = None if rating is None else rating in spec.satisfied

        live = open_ if status == "running" else []
        ranks = [RANK.get(t.sla_colour, NO_COLOUR) for t in live]
        best = min(ranks) if ranks else None
        fact["colour"] = COLOURS[best] if best is not None and best < NO_COLOUR else None
        fact["colour_rank"] = CLOSED_RANK if closed or status != "running" else (best if best is not None
                                                                                 else NO_COLOUR)
        fact["open_task"] = _text("、".join(dict.fromkeys(t.name or t.element_id for t in live)), 300) or None
        fact["stages"] = [{"element": t.element_id, "name": t.name, "status": t.status,
                           "created": _iso(t.created_at), "due": _iso(t.due_at), "done": _iso(t.completed_at),
                           "by": t.completed_by} for t in tasks]
        return fact

    def _eval(self, spec, name, data, key):
        source = spec.expressions.get(name)
        if source is None:
            return None
        context = dict(data)
        context.setdefault("var", lambda name, default=None: data.get(name, default))
        try:
            return self.engine.script_engine.environment.evaluate(source, context)
        except NameError:
            return None      # not known yet at this point of the process
        except Exception as e:
            from qihu.engine.runtime.service import EngineStepError
            raise EngineStepError(f"{PREFIX}{name} of process {key}: {type(e).__name__}: {e}", element=key) from e

    def _workdays(self, a, b, region):
        try:
            days = self.engine.calendar.workdays_between(a, b, region or "")
        except CalendarYearUnknown:
            days = max(0.0, (b - a).total_seconds() / 86400)
        return round(days, 4)

    @staticmethod
    def contribution(fact):
        """(key, counters) that a fact row adds to figure_month; None for a cancelled appeal."""
        if fact is None or fact["status"] == "cancelled":
            return None
        closed = fact["outcome"] is not None
        key = (fact["month"], fact["region"] or "", fact["definition_key"], fact["department"] or "")
        return key, {
            "accepted": 1, "closed": int(closed), "solved": int(fact["outcome"] == "solved"),
            "solved_late": int(bool(fact["solved_late"])),
            "sign_counted": int(fact["signed_on_time"] is not None),
            "signed_on_time": int(bool(fact["signed_on_time"])),
            "returned": int((fact["returns"] or 0) > 0), "rated": int(fact["rating"] is not None),
            "satisfied": int(bool(fact["satisfied"])),
            "workdays_sum": float(fact["workdays"] or 0.0) if closed else 0.0}

    def _move(self, writes, old, new):
        """Move the appeal's contribution in figure_month from `old` to `new`, with the step's
        writes (one upsert part: one row per month, region, mechanism and department)."""
        deltas, names = {}, {}
        for fact, sign in ((old, -1), (new, 1)):
            c = self.contribution(fact)
            if c is None:
                continue
            key, counters = c
            d = deltas.setdefault(key, dict.fromkeys(COUNTERS, 0))
            for k, v in counters.items():
                d[k] += sign * v
            names[key] = {"mechanism_name": fact["mechanism_name"], "department_name": fact["department_name"]}
        renamed = old is not None and any(old[k] != new[k] for k in ("mechanism_name", "department_name"))
        writes.upsert(FigureMonth.__table__, ("month", "region", "definition_key", "department"), [
            {"month": k[0], "region": k[1], "definition_key": k[2], "department": k[3], **names[k], **d}
            for k, d in sorted(deltas.items())     # one lock order for every writer: no deadlocks
            if any(d.values()) or renamed], add=COUNTERS, keep=("mechanism_name", "department_name"))

    def on_colour(self, session, instance_id):
        """An SLA job turned one of the appeal's tasks: the fact's colour follows (one UPDATE)."""
        T, F = Task.__table__, AppealFact.__table__
        worst = select(func.min(case(*[(T.c.sla_colour == c, r) for c, r in RANK.items()], else_=NO_COLOUR))) \
            .where(T.c.instance_id == instance_id, T.c.status == "ready").scalar_subquery()
        worst = func.coalesce(worst, NO_COLOUR)
        colour = case(*[(worst == r, c) for c, r in RANK.items()], else_=None)
        session.execute(update(F).where(F.c.instance_id == instance_id, F.c.status == "running",
                                        F.c.colour_rank != CLOSED_RANK)
                        .values(colour_rank=worst, colour=colour))

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def _require(scope):
        if scope is None:
            raise Forbidden("无权查看晾晒数据 (not allowed to see the dashboard figures)")

    def _scoped(self, q, table, scope, region=None, mechanism=None, department=None, blank=""):
        """Narrow a query by the viewer's scope and the filters chosen; '' marks none in figure_month."""
        self._require(scope)
        c = table.c
        if scope.region is not None:
            q = q.where(c.region == scope.region)
        if scope.departments is not None:
            q = q.where(c.department.in_(sorted(scope.departments) or [""]))
        if region:
            q = q.where(c.region == region)
        if mechanism:
            q = q.where(c.definition_key == mechanism)
        if department:
            q = q.where(c.department == department)
        return q

    def monthly(self, scope, month_from, month_to, by=("month",), region=None, mechanism=None, department=None):
        """Counters and rates of the months month_from..month_to ("YYYY-MM"), grouped by `by`."""
        by = tuple(by)
        bad = [b for b in by if b not in GROUPS]
        if bad:
            raise ValueError(f"cannot group by {bad[0]!r} (choose among {', '.join(GROUPS)})")
        _check_month(month_from), _check_month(month_to)
        F = FigureMonth.__table__
        keys = [F.c[GROUPS[b]].label(b) for b in by]
        extra = []
        if "department" in by:
            extra.append(func.max(F.c.department_name).label("department_name"))
        if "mechanism" in by:
            extra.append(func.max(F.c.mechanism_name).label("mechanism_name"))
        q = select(*keys, *extra, *[func.sum(F.c[k]).label(k) for k in COUNTERS]) \
            .where(F.c.month >= month_from, F.c.month <= month_to)
        q = self._scoped(q, F, scope, region, mechanism, department)
        if keys:
            q = q.group_by(*keys).order_by(*keys)
        q = q.having(func.sum(F.c.accepted) > 0)    # a group an appeal left holds only zeros
        with self.engine.db.read() as s:
            rows = [dict(r._mapping) for r in s.execute(q)]
        out = []
        for r in rows:
            if r["accepted"] is None:
                continue       # no row matched (an aggregate without groups)
            for k in ("region", "department"):
                if k in r and r[k] == "":
                    r[k] = None
            out.append(with_rates(r))
        return self.department_names(out) if "department" in by else out

    def department_names(self, rows):
        """Each row's department_name as people read it: the department's group name (an
        administrator's, else its diagram's groupName.*), else what figure.departmentName gave,
        else the id. One lookup for all the rows; returns `rows`."""
        ids = {r["department"] for r in rows if r.get("department")}
        names = self.engine.accounts.group_names(ids) if ids else {}
        for r in rows:
            d = r.get("department")
            if d:
                named = names.get(d)
                r["department_name"] = named if named and named != d else (r.get("department_name") or d)
        return rows

    def ranking(self, scope, month, region=None):
        """The month's departments, best first: 办结率, then 办成率, 满意率, fewer late, more accepted."""
        rows = self.monthly(scope, month, month, by=("department",), region=region)

        def key(r):
            neg = lambda v: -(v if v is not None else -1)   # noqa: E731  None ranks last
            return (neg(r["closed_rate"]), neg(r["solved_rate"]), neg(r["satisfaction_rate"]),
                    r["late_rate"] if r["late_rate"] is not None else 0, -r["accepted"], r["department"] or "")
        rows.sort(key=key)
        for i, r in enumerate(rows, 1):
            r["rank"] = i
        return rows

    def colour_counts(self, scope, region=None, mechanism=None, department=None):
        """Open appeals by their worst colour: {"red": n, "orange": n, "yellow": n, "green": n, "blue": n,
        "none": n}."""
        A = AppealFact.__table__
        q = select(A.c.colour_rank, func.count()).where(A.c.status == "running", A.c.colour_rank < CLOSED_RANK)
        q = self._scoped(q, A, scope, region, mechanism, department).group_by(A.c.colour_rank)
        out = {c: 0 for c in COLOURS}
        out["none"] = 0
        with self.engine.db.read() as s:
            for rank, n in s.execute(q):
                out[COLOURS[rank] if rank < NO_COLOUR else "none"] += n
        return out

    OPEN_COLUMNS = ("instance_id", "business_key", "title", "company", "definition_key", "mechanism_name",
                    "department", "department_name", "region", "colour", "open_task", "deadline", "started_at")

    def open_items(self, scope, colour=None, region=None, mechanism=None, department=None, limit=200):
        """Open appeals, stalled ones first (an open incident: nobody can move them on until an
        administrator acts, so they come before any colour), then worst colour, then the
        nearest deadline. A stalled item has "stalled": True and "stall_reason", the oldest
        incident as a sentence (appeals.incidents), else "stalled": False."""
        A = AppealFact.__table__
        q = select(*[A.c[k] for k in self.OPEN_COLUMNS]).where(A.c.status == "running")
        if colour:
            if colour != "none" and colour not in RANK:
                raise ValueError(f"unknown colour {colour!r} (choose among {', '.join(COLOURS)}, none)")
            q = q.where(A.c.colour_rank == (NO_COLOUR if colour == "none" else RANK[colour]))
        else:
            q = q.where(A.c.colour_rank < CLOSED_RANK)
        q = self._scoped(q, A, scope, region, mechanism, department)
        order = (A.c.colour_rank, A.c.deadline.asc().nulls_last(), A.c.instance_id)
        limit = int(limit)
        # Two bounded reads instead of one ORDER BY over "has an open incident", which no index
        # serves (a province's open appeals would all be read and sorted): the stalled ones come
        # from the few open incidents, the rest in the order of the open-appeal indexes.
        with self.engine.db.read() as s:
            rows = [dict(r._mapping, stalled=True) for r in s.execute(
                q.where(A.c.instance_id.in_(select(Incident.instance_id).where(Incident.status == IncidentStatus.OPEN)))
                .order_by(*order).limit(limit))]
            stalled_ids = {r["instance_id"] for r in rows}
            rest = s.execute(q.order_by(*order).limit(limit + len(rows))) if len(rows) < limit else []
            rows += [dict(r._mapping, stalled=False) for r in rest if r.instance_id not in stalled_ids]
        del rows[limit:]
        calendar = self.engine.calendar
        for r in rows:
            r["mechanism"] = r["definition_key"]
            # a deadline in a year not announced yet is 暂定 (re-planned when the year is loaded)
            r["deadline_provisional"] = bool(r["deadline"]) and calendar.is_provisional(r["deadline"], r["region"])
        self._stall_reasons([r for r in rows if r["stalled"]])
        return self.department_names(rows)

    def _stall_reasons(self, rows):
        """row["stall_reason"]: the oldest open incident of each stalled appeal, said in Chinese."""
        if not rows:
            return
        open_ones = self.engine.runtime.incidents(where=Incident.instance_id.in_([r["instance_id"] for r in rows]))
        first = {}
        for i in said.describe(self.engine, open_ones):
            first.setdefault(i["instance_id"], i)
        for r in rows:
            i = first.get(r["instance_id"])
            r["stall_reason"] = i["sentence"] if i else None
            r["stall_kind"] = i["kind_name"] if i else None

    def stalled_count(self, scope, region=None, mechanism=None, department=None):
        """How many open appeals of the scope have an open incident (the board's 无法流转 count)."""
        A = AppealFact.__table__
        q = select(func.count()).select_from(A).where(A.c.status == "running", A.c.colour_rank < CLOSED_RANK,
                                                      _stalled(A))
        q = self._scoped(q, A, scope, region, mechanism, department)
        with self.engine.db.read() as s:
            return s.scalar(q) or 0

    def ledger(self, scope, month_from, month_to, region=None, mechanism=None, department=None, batch=1000):
        """Every appeal accepted in the months (the 台账), oldest first, read in batches."""
        _check_month(month_from), _check_month(month_to)
        A = AppealFact.__table__
        q = select(A).where(A.c.month >= month_from, A.c.month <= month_to)
        q = self._scoped(q, A, scope, region, mechanism, department).order_by(A.c.started_at, A.c.instance_id)
        after = None
        while True:
            page = q
            if after is not None:
                page = page.where(or_(A.c.started_at > after[0],
                                      and_(A.c.started_at == after[0], A.c.instance_id > after[1])))
            with self.engine.db.read() as s:
                rows = [dict(r._mapping) for r in s.execute(page.limit(batch))]
            yield from self.department_names(rows)
            if len(rows) < batch:
                return
            after = (rows[-1]["started_at"], rows[-1]["instance_id"])

    def months(self, scope):
        F = FigureMonth.__table__
        q = self._scoped(select(F.c.month).distinct().where(F.c.accepted > 0), F, scope).order_by(F.c.month.desc())
        with self.engine.db.read() as s:
            return list(s.scalars(q))

    def options(self, scope):
        F = FigureMonth.__table__
        with self.engine.db.read() as s:
            def query(*cols):
                return self._scoped(select(*cols).where(F.c.accepted > 0), F, scope)
            regions = [r for r in s.scalars(query(F.c.region).distinct().order_by(F.c.region)) if r]
            mechs = s.execute(query(F.c.definition_key, func.max(F.c.mechanism_name))
                              .group_by(F.c.definition_key).order_by(F.c.definition_key)).all()
            depts = s.execute(query(F.c.department, func.max(F.c.department_name))
                              .group_by(F.c.department).order_by(F.c.department)).all()
        named = self.department_names([{"department": d, "department_name": n} for d, n in depts if d])
        return {"regions": regions, "mechanisms": [(k, n or k) for k, n in mechs],
                "departments": [(r["department"], r["department_name"]) for r in named]}

    def recount(self):
        """figure_month as it should be, counted afresh from appeal_fact in one grouped query:
        {key: counters}. It states the counting rule a second time, in SQL, independently of
        contribution(); the consistency check (tests, bench, an operator) compares it with stored()."""
        with self.engine.db.read() as s:
            return _recount(s.connection())

    def stored(self):
        """figure_month as stored: {key: counters} (rows whose counters are all zero left out)."""
        with self.engine.db.read() as s:
            return _stored(s.connection())

    # -- repair: rebuilding the facts and the summary from the instances ------------------
    def check_consistency(self, tolerance=1e-6):
        """Where figure_month differs from a recount of appeal_fact: a list of {"key": (month, region,
        definition_key, department), "counter", "stored", "recount"}, sorted; [] when they agree.
        Both are read in one transaction (one snapshot), so a step saved meanwhile is no false alarm."""
        with self.engine.db.read() as s:
            options = {} if self.engine.db.is_sqlite else {"isolation_level": "REPEATABLE READ"}
            conn = s.connection(execution_options=options)   # SQLite: a read transaction is a snapshot
            stored, counted = _stored(conn), _recount(conn)
        out = []
        for key in sorted(stored.keys() | counted.keys()):
            a, b = stored.get(key, {}), counted.get(key, {})
            for c in COUNTERS:
                x, y = a.get(c, 0), b.get(c, 0)
                if abs(float(x) - float(y)) > tolerance:
                    out.append({"key": key, "counter": c, "stored": x, "recount": y})
        return out

    def rebuild(self, key=None, batch=200, progress=None):
        """Recompute the fact row of every instance (of `key`, or all) whose definition declares
        figures from its stored state and task rows, drop the facts that belong to no such instance,
        then rebuild figure_month from the facts. Returns {"scanned", "written", "removed", "months",
        "failed": [(instance id, reason)]}; `progress(scanned, written)` is called after each batch.

        For an upgrade from a release without the figures, a diagram that declares figure.*
        properties only in a later version, and counters that drifted. Idempotent: a second run
        writes nothing and leaves the same summary. The rules:
        - A fact belongs to its instance's own definition (the version it runs on, after a migration
          the new one): an instance whose definition declares no figures has no row (a stale one is
          deleted), nor has a row whose instance is gone.
        - Everything is computed as on_save computes it (the same _fact), on the state as stored.
          Cancelled instances get their row with status 'cancelled' and count nowhere, as on_save.
        - started_at is the instance's. closed_at is replayed from the task rows (the times they were
          opened and closed are those of the steps that wrote them): the moment the appeal last became
          closed and stayed so, i.e. when its last steps were all figure.closedAt ones; for a completed
          instance that never stood so, its ended_at. That is the moment on_save recorded.
        - What on_save may have skipped (a variable changed by a step that opened or closed no user
          task) is read as it is now: the rebuilt row is the current truth, not the old row.
        - Each batch is one transaction. On PostgreSQL its instance rows are locked (FOR UPDATE) and
          every instance whose fact row changes gets its version raised: a step that loaded the
          instance before the batch committed then fails its save with Conflict (and rolls back its
          own fact and counter changes), so its increments never land on a base the rebuild replaced.
          (A step that already wrote rows of the instance holds a key-share lock on it: the batch waits.)
          On SQLite a write transaction holds the database's write lock: nothing interleaves.
        - figure_month is rebuilt in one transaction (delete, then insert the recount) under the
          table's lock on PostgreSQL (EXCLUSIVE: readers go on, writers wait), the write lock on SQLite.
        A fact that cannot be computed (a failing expression, a state that does not load) is left as it
        was and listed in "failed"; the summary still equals a recount of the facts."""
        from qihu.engine.errors import NotFound
        from qihu.engine.storage.models import Definition, Instance
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive whole number (got {batch!r})")
        D, I = Definition.__table__, Instance.__table__
        with self.engine.db.read() as s:
            q = select(D.c.id).order_by(D.c.id)
            if key:
                q = q.where(D.c.key == key)
            definitions = list(s.scalars(q))
        if key and not definitions:
            raise NotFound(f"没有流程 {key} (no definition {key!r})")
        figured = [d for d in definitions if self.spec_of(d) is not None]
        out = {"scanned": 0, "written": 0, "removed": 0, "months": 0, "failed": []}
        cols = (I.c.id, I.c.definition_id, I.c.definition_key, I.c.business_key, I.c.region, I.c.status,
                I.c.version, I.c.started_at, I.c.ended_at)
        after = None
        try:
            while figured:
                with self.engine.db.write() as s:
                    conn = s.connection()
                    q = select(*cols).where(I.c.definition_id.in_(figured)).order_by(I.c.id).limit(batch)
                    if after is not None:
                        q = q.where(I.c.id > after)
                    if conn.dialect.name == "postgresql":
                        q = q.with_for_update()
                    rows = conn.execute(q).all()
                    written = sum(self._rebuild_one(s, r, out["failed"]) for r in rows)
                if not rows:
                    break
                out["scanned"] += len(rows)
                out["written"] += written
                if progress is not None:
                    progress(out["scanned"], out["written"])
                if len(rows) < batch:
                    break
                after = rows[-1].id
            with self.engine.db.write() as s:
                A = AppealFact.__table__
                stale = delete(A).where(A.c.instance_id.not_in(select(I.c.id).where(I.c.definition_id.in_(figured))))
                if key:
                    stale = stale.where(A.c.definition_key == key)
                out["removed"] = s.connection().execute(stale).rowcount
        finally:
            # even when a batch failed (the database went away...), the summary of the facts written
            # so far equals their recount; run it again to finish
            out["months"] = self._rebuild_months()
        return out

    def _rebuild_one(self, s, r, failed):
        """Rewrite one instance's fact row in the batch's transaction; 1 when it changed."""
        conn = s.connection()
        spec = self.spec_of(r.definition_id)
        try:
            ctx = self.engine.runtime.read_unit(s, r.id)
            tasks = conn.execute(_SELECT_TASKS, {"iid": r.id}).all()
            # what on_save held before its last write: the instance's start, and when it closed
            previous = {"started_at": r.started_at, "status": "running",
                        "closed_at": _closed_since(spec, tasks, r.status, r.ended_at)}
            with workcal.region_scope(r.region):
                new = self._fact(ctx, spec, previous)
        except DBAPIError:
            raise            # the database's own error: the batch is rolled back
        except Exception as e:  # noqa: BLE001 - reported per instance; the others go on
            failed.append((r.id, f"{type(e).__name__}: {e}"))
            return 0
        old = conn.execute(_SELECT_FACT, {"iid": r.id}).mappings().first()
        if not _store_fact(conn, r.id, old, new):
            return 0
        if conn.dialect.name == "postgresql":
            from qihu.engine.storage.models import Instance
            I = Instance.__table__
            conn.execute(update(I).where(I.c.id == r.id).values(version=I.c.version + 1))
        return 1

    def _rebuild_months(self):
        """figure_month := the recount of appeal_fact, in one transaction; returns the rows written."""
        F, A = FigureMonth.__table__, AppealFact.__table__
        with self.engine.db.write() as s:
            conn = s.connection()
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f'LOCK TABLE "{F.name}" IN EXCLUSIVE MODE')
            counted = _recount(conn)
            keys = (A.c.month, func.coalesce(A.c.region, ""), A.c.definition_key, func.coalesce(A.c.department, ""))
            names = {tuple(r[:4]): r[4:] for r in conn.execute(
                select(*keys, func.max(A.c.mechanism_name), func.max(A.c.department_name))
                .where(A.c.status != "cancelled").group_by(*keys))}
            conn.execute(delete(F))
            rows = [{"month": k[0], "region": k[1], "definition_key": k[2], "department": k[3],
                     "mechanism_name": names[k][0], "department_name": names[k][1], **counters}
                    for k, counters in sorted(counted.items())]
            if rows:
                conn.execute(insert(F), rows)
        return len(rows)


def _unchanged(old, new):
    return old is not None and all(old[k] == v for k, v in new.items() if k != "updated_at")


def _stage_fact(writes, instance_id, old, new):
    """_store_fact with the step's writes; False when nothing but updated_at would change."""
    if old is None:
        writes.insert(_F, [new])
        return True
    if _unchanged(old, new):
        return False
    writes.update(_F, ("instance_id",), [{"k_instance_id": instance_id, **{c: new[c] for c in _FACT_COLUMNS}}])
    return True


class _TaskRow:
    """A task row as _fact reads it: stored, with what the step changes in it."""
    __slots__ = TASK_FIELDS

    def __init__(self, values):
        for f in TASK_FIELDS:
            setattr(self, f, values.get(f))


def step_tasks(uow, stored):
    """The appeal's task rows as they will be once the step is written: the stored ones with
    the step's own changes (closed, completed) and the rows it opens (uow.writes.pending)."""
    pending = uow.writes.pending(_T)
    if not pending:
        return list(stored)
    rows = {t.id: dict(t._mapping) for t in stored}
    for tid, change in pending.items():
        # as the database gives them back: moments in UTC (the clock's may be in Beijing time)
        change = {k: v.astimezone(timezone.utc) if isinstance(v, datetime) else v
                  for k, v in change.items() if k in TASK_FIELDS or k == "instance_id"}
        if tid in rows:
            rows[tid].update(change)
        elif change.get("instance_id") == uow.instance.id:     # a row the step inserts
            rows[tid] = change
    return [_TaskRow(r) for r in rows.values()]


def _store_fact(conn, instance_id, old, new):
    """Write an appeal's fact row (insert, or update what differs from `old`); False when
    nothing but updated_at would change, so nothing is written."""
    if old is None:
        conn.execute(insert(_F).values(**new))
        return True
    if _unchanged(old, new):
        return False
    # every column, so that the one prebuilt statement serves every change
    conn.execute(_UPDATE_FACT, {"iid": instance_id, **{f"v_{c}": new[c] for c in _FACT_COLUMNS}})
    return True


def _stalled(A):
    """SQL: the appeal has an open incident (engine.runtime's incident table, indexed by instance)."""
    return exists().where(Incident.instance_id == A.c.instance_id, Incident.status == IncidentStatus.OPEN)


def with_rates(r):
    """A row of counters plus its rates (None where the denominator is 0)."""
    r["workdays_sum"] = float(r["workdays_sum"] or 0.0)
    for k in COUNTERS[:-1]:
        r[k] = int(r[k] or 0)
    r["closed_rate"] = _rate(r["closed"], r["accepted"])
    r["solved_rate"] = _rate(r["solved"], r["accepted"])
    r["late_rate"] = _rate(r["solved_late"], r["solved"])
    r["sign_rate"] = _rate(r["signed_on_time"], r["sign_counted"])
    r["return_rate"] = _rate(r["returned"], r["accepted"])
    r["satisfaction_rate"] = _rate(r["satisfied"], r["rated"])
    r["avg_workdays"] = _rate(r["workdays_sum"], r["closed"])
    return r


def _check_month(m):
    try:
        datetime.strptime(m, "%Y-%m")
        if len(m) != 7:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"月份格式应为 YYYY-MM (month must be YYYY-MM, got {m!r})") from None


def _variables(wf):
    """The appeal's variables: the workflow's data, then each live or finished task's data in
    the order they changed (later values win)."""
    from SpiffWorkflow.util.task import TaskState
    data = dict(wf.data)
    tasks = [t for t in all_tasks(wf)
             if t.state in (TaskState.COMPLETED, TaskState.READY, TaskState.STARTED, TaskState.WAITING)]
    for t in sorted(tasks, key=lambda t: t.last_state_change):
        data.update(t.data)
    return data


def _recount(conn):
    """recount() on a connection (see there)."""
    A = AppealFact.__table__

    def count(cond):
        return func.sum(case((cond, 1), else_=0))
    closed = A.c.outcome.is_not(None)
    keys = (A.c.month, func.coalesce(A.c.region, ""), A.c.definition_key, func.coalesce(A.c.department, ""))
    q = select(*keys, func.count(), count(closed), count(A.c.outcome == "solved"),
               count(A.c.solved_late.is_(True)), count(A.c.signed_on_time.is_not(None)),
               count(A.c.signed_on_time.is_(True)), count(A.c.returns > 0), count(A.c.rating.is_not(None)),
               count(A.c.satisfied.is_(True)),
               func.sum(case((closed, func.coalesce(A.c.workdays, 0.0)), else_=0.0))) \
        .where(A.c.status != "cancelled").group_by(*keys)
    return {tuple(r[:4]): {k: (float(v) if k == "workdays_sum" else int(v)) for k, v in zip(COUNTERS, r[4:])}
            for r in conn.execute(q)}


def _stored(conn):
    """stored() on a connection (see there)."""
    F = FigureMonth.__table__
    rows = conn.execute(select(F)).mappings().all()
    return {(r["month"], r["region"], r["definition_key"], r["department"]): {k: r[k] for k in COUNTERS}
            for r in rows if any(r[k] for k in COUNTERS)}


def _closed_since(spec, tasks, status, ended_at):
    """When the appeal last became closed and stayed so, replaying its task rows as on_save saw
    them at each moment one was opened or closed (rows not closed yet at a moment were open then);
    for a completed instance, closed from ended_at on at the latest. None when it is not closed."""
    if status == "cancelled":
        return None
    moments = sorted({t.created_at for t in tasks} | {t.completed_at for t in tasks if t.completed_at is not None})
    ended = status == "completed" and ended_at is not None
    if ended:
        moments = [m for m in moments if m < ended_at] + [ended_at]
    since = None
    for m in moments:
        if (ended and m >= ended_at) or _closed_then(spec, tasks, m):
            since = since or m
        else:
            since = None
    return since


def _closed_then(spec, tasks, moment):
    """_fact's rule of 'closed' for a running appeal, on its task rows as they stood at `moment`."""
    seen = [(t.created_at, t.completed_at if t.completed_at is not None and t.completed_at <= moment else None,
             t.element_id) for t in tasks if t.created_at <= moment]
    if not seen:
        return False
    seen.sort(key=lambda x: (x[0], x[1] is None, x[1] or x[0]))
    return seen[-1][2] in spec.closed_at and all(x[2] in spec.closed_at for x in seen if x[1] is None)


def _instance_started(ctx):
    if ctx.instance.started_at is not None:
        return ctx.instance.started_at
    from qihu.engine.storage.models import Instance
    I = Instance.__table__
    return ctx.session.connection().execute(select(I.c.started_at).where(I.c.id == ctx.instance.id)).scalar()


def _text(value, n):
    if value is None:
        return None
    value = str(value).strip()
    return value[:n] if value else None


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def check(info, problem, code):
    """Deploy checks of a process's figure.* properties (a definition_checked listener, which engine/dialect/checks.py calls): names,
    required ones, expressions through the sandbox, element ids that are user tasks of the process."""
    from qihu.engine.dialect.specs import QihuUserTask
    try:
        spec = read_spec(info.properties, info.name)
    except ValueError as e:
        problem(info.key, f"figures: {e}")
        return
    if spec is None:
        return
    for name, source in spec.expressions.items():
        code(info.key, source, "eval", f"{PREFIX}{name}")
    tasks = {ts.bpmn_id for sp in [info.spec, *info.subprocess_specs.values()] for ts in sp.task_specs.values()
             if isinstance(ts, QihuUserTask)}
    for name, ids in (("closedAt", spec.closed_at), ("signFor", spec.sign_for)):
        for element in sorted(ids - tasks):
            problem(info.key, f"{PREFIX}{name}: {element!r} is not a user task of this process "
                              f"(user tasks: {', '.join(sorted(tasks)) or 'none'})")

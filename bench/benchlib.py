"""What the large benchmarks share: percentiles, the timing table, and running one benchmark on
a SQLite file and on a PostgreSQL schema of its own (made and dropped unless kept)."""
import os
from pathlib import Path
import statistics
import tempfile

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("QIHU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def print_times(label, title, column, times):
    """Print p50/p95/max per name of {name: [ms, ...]}; returns the worst p95."""
    print(f"[{label}] {title}:")
    print(f"  {column:<26} {'p50':>8} {'p95':>8} {'max':>8}")
    worst = 0.0
    for name, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        worst = max(worst, p95)
        print(f"  {name:<26} {p50:8.2f} {p95:8.2f} {max(values):8.2f}")
    print(f"[{label}] worst p95: {worst:.2f} ms", flush=True)
    return worst


def settle(engine):
    """After a bulk fill: what a database does on its own a little later (SQLite: fold the WAL
    back; PostgreSQL: autovacuum's statistics and visibility map), so timings see that state."""
    with engine.db.engine.connect() as conn:
        if engine.db.is_sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def add_database_args(ap):
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--sqlite-file", help="keep the SQLite database here and reuse it when filled")
    ap.add_argument("--keep-schema", help="PostgreSQL schema to keep and reuse (default: a fresh one, dropped)")


def on_databases(args, name, run):
    """{"sqlite": worst, "postgresql": worst} of run(label, url, reuse) on the databases asked for."""
    worst = {}
    if args.db in ("sqlite", "both"):
        tmp = None
        path = args.sqlite_file
        if not path:
            tmp = tempfile.TemporaryDirectory(prefix=f"qihu_{name}_")
            path = os.path.join(tmp.name, "bench.sqlite3")
        try:
            worst["sqlite"] = run("sqlite", f"sqlite:///{path}", bool(args.sqlite_file))
        finally:
            if tmp:
                tmp.cleanup()
    if args.db in ("postgresql", "both"):
        schema = args.keep_schema or f"qihu_{name}_{os.getpid()}"
        admin = create_engine(PG_URL)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        try:
            worst["postgresql"] = run("postgresql", f"{PG_URL}{sep}options=-csearch_path%3D{schema}",
                                      bool(args.keep_schema))
        finally:
            if not args.keep_schema:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return worst


# -- 江苏 scale: one PostgreSQL fill, written with COPY, shared by the inbox, dashboard and search
# benches (--scale S: S million appeals, each with 5 task rows; --keep-schema NAME keeps it) ------
#
# The data model (the same at every scale, so 1M and 10M differ only in history):
# - S million appeals over the 24 months before SCALE_NOW, each an instance, an appeal_fact row
#   (the 晾晒 figures) and an appeal_ticket row (the portal's / clerk's registration); instances
#   are written in the order they started (as a live system writes them).
# - open work does not grow with history: min(100,000, 10 %) of the appeals are running (started
#   in the last ~60 days, one open task each); all others are closed. A province's inbox holds
#   what is being handled now; what grows with the years is the closed history.
# - 5 task rows per appeal (closed: 5 completed, 3 % of them cancelled; running: 4 completed +
#   1 open), each offered to one of 60 department groups (10 % to two, 5 % to a user as well),
#   with their task_candidate rows and the inbox copy the 0005 triggers would write.
# - 10 mechanisms (the bundled diagrams) over 6 regions, 10 departments per region; 2,000 users
#   in the 60 groups (u0000-u0999 in 3 groups); `scale_admin` (an administrator), `scale_leader`
#   (湖州市's dashboard group: a region reader).
# Filling drops the secondary indexes, writes the rows with COPY (triggers and foreign-key
# checks off: the rows are consistent by construction), rebuilds the indexes, derives
# figure_month from appeal_fact (Figures.recount) and runs VACUUM ANALYZE; it is not timed with
# the queries, but its rates are printed. A finished fill leaves a row in bench_fill, so a kept
# schema is reused only when it was filled to the end.

SCALE_NOW_TEXT = "2026-11-25 01:00:00"          # Wednesday 09:00 in Beijing
SCALE_REGIONS = ["湖州市", "杭州市钱塘区", "温州市鹿城区", "台州市路桥区", "舟山市定海区", "徐州市"]
SCALE_GROUPS = [f"dept_{r}_{k}" for r in range(len(SCALE_REGIONS)) for k in range(10)]
SCALE_USERS = [f"u{i:04d}" for i in range(2000)]
SCALE_OPEN_MAX = 100_000
SCALE_TASKS_PER_APPEAL = 5
SCALE_DAYS = 724                                 # day 0 = 2024-12-01 (UTC); SCALE_NOW is day 724
SCALE_STEPS = [("Task_register", "受理登记"), ("Task_handle", "部门办理"), ("Task_supervise", "跟进督办落实情况"),
               ("Task_review", "复核办理结果"), ("Task_evaluate", "企业评价")]
SCALE_PRIORITIES = [10, 30, 50, 50, 50, 50, 70, 90]
SCALE_NAMES = "宏达 鑫源 恒通 华瑞 远航 金鼎 天成 永盛 嘉禾 瑞丰 新宇 德润 中科 海川 锦程 博远 汇通 盛世 安泰 立信".split()
SCALE_NAMES2 = "科技 实业 智能 精密 电子 机械 生物 环保 能源 材料".split()
SCALE_TRADES = "新材料 纺织 化工 食品 物流 建材 医药 电气 汽车零部件 光伏".split()
SCALE_TOPICS = ["新厂房用地指标迟迟未落实", "惠企政策兑现资金迟迟未到账", "企业用电增容审批进度缓慢", "员工子女入学安排困难",
                "排污许可证续期材料反复退回", "厂区道路积水影响物流", "高新技术企业认定咨询", "融资担保额度不足",
                "消防验收排期过长", "外籍员工工作许可办理", "出口退税到账慢", "厂房租金补贴申请", "人才公寓配租",
                "天然气管网接入", "项目环评审批", "招工难需要对接职业院校"]
SCALE_CATEGORIES = ["resource", "policy", "finance", "talent", "permit"]
SCALE_CHANNELS = ["企业自主提交", "电话", "窗口", "企业码", "恳谈会", "观察员"]
SCALE_COLOURS = ["red"] * 5 + ["orange"] * 10 + ["yellow"] * 20 + ["green"] * 55 + [None] * 10
_TRACK = "34679ACDEFGHJKMNPQRTWXY"


def add_scale_args(ap):
    ap.add_argument("--scale", help="江苏 scale on PostgreSQL: millions of appeals, one or more, comma-separated "
                    "(e.g. 1,10: fill or reuse, then time the same queries at 1M and at 10M and say whether the "
                    "curve is flat). With --keep-schema NAME the fills are kept as NAME_1m, NAME_10m …")
    ap.add_argument("--fill-only", action="store_true", help="fill the --scale schemas (with --keep-schema) and stop")
    ap.add_argument("--times", help="JSON file of timings per scale: this run's are added to it, and the comparison "
                    "covers every scale it holds (so 1M and 10M can be timed in separate runs, e.g. when the disk "
                    "holds one fill at a time)")


def scales(args):
    return [float(s) for s in args.scale.split(",")] if args.scale else []


def scale_label(s):
    n = int(round(s * 1_000_000))
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def scale_url(schema):
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def scale_schemas(args, name):
    """[(scale, schema, kept)] of the run."""
    out = []
    for s in scales(args):
        if args.keep_schema:
            out.append((s, f"{args.keep_schema}_{scale_label(s)}", True))
        else:
            out.append((s, f"qihu_{name}_{scale_label(s)}_{os.getpid()}", False))
    return out


class ScaleFill:
    """The rows of S million appeals as COPY text, chunk by chunk (see the comment above)."""

    def __init__(self, appeals, definitions, seed=20261125):
        import random
        self.n = int(round(appeals * 1_000_000))
        self.open = min(SCALE_OPEN_MAX, self.n // 10)
        self.closed = self.n - self.open
        self.seed = seed
        self.rnd = random.Random(seed)
        self.defs = definitions[:10]          # [(id, key, name)]
        from datetime import date, timedelta
        day0 = date(2024, 12, 1)
        self.day = [(day0 + timedelta(days=d)).isoformat() for d in range(SCALE_DAYS + 200)]
        self.compact = [d.replace("-", "") for d in self.day]
        self.month = [d[:7] for d in self.day]
        self.hms = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        self.now = SCALE_DAYS * 86400 + 3600
        self.members = {g: [] for g in SCALE_GROUPS}
        for i, u in enumerate(SCALE_USERS):
            for g in scale_groups_of(i):
                self.members[g].append(u)

    def ts(self, sec):
        return f"{self.day[sec // 86400]} {self.hms[sec % 86400]}"

    def bj_month(self, sec):
        return self.month[(sec + 28800) // 86400]

    def mechanism(self, k):
        d = self.defs[k % len(self.defs)]
        return d, SCALE_REGIONS[k % len(SCALE_REGIONS)]

    def chunk(self, start, stop):
        """COPY text of appeals start..stop-1: {table: str} (the same text whoever makes it)."""
        import random
        self.rnd = random.Random(self.seed * 1_000_003 + start)
        rnd, ts, N = self.rnd, self.ts, "\\N"
        inst, task, cand, fact, ticket = [], [], [], [], []
        span = (SCALE_DAYS - 20) * 86400
        for n in range(start, stop):
            running = n >= self.closed
            k = rnd.randrange(10)
            (def_id, key, mname), region = self.mechanism(k)
            r = SCALE_REGIONS.index(region)
            dept_k = rnd.randrange(10)
            dept = f"dept_{r}_{dept_k}"
            if running:
                started = self.now - int(rnd.expovariate(1 / (20 * 86400)) % (60 * 86400)) - 3600
            else:
                started = int(n / self.closed * span) + rnd.randrange(3600)
            iid = f"00000000-0000-4000-8000-{n:012x}"
            track = f"QH{self.compact[(started + 28800) // 86400]}-" + "".join(
                _TRACK[(n // 23 ** j) % 23] for j in range(6))
            user = SCALE_USERS[rnd.randrange(2000)]
            ended = None if running else started + rnd.randrange(3 * 86400, 40 * 86400)
            inst.append(f"{iid}\t{def_id}\t{key}\t{track}\t{region}\t{'running' if running else 'completed'}\t1\t\t"
                        f"{user}\t{ts(started)}\t{ts(ended or started)}\t{ts(ended) if ended else N}\n")
            # tasks
            colour = None
            done = SCALE_TASKS_PER_APPEAL - 1 if running else SCALE_TASKS_PER_APPEAL
            for j in range(SCALE_TASKS_PER_APPEAL):
                tid = f"00000000-0000-4000-9000-{n * 8 + j:012x}"
                element, name = SCALE_STEPS[j]
                g1 = dept if j in (1, 2) else SCALE_GROUPS[r * 10 + rnd.randrange(10)]
                groups = [g1]
                if rnd.random() < 0.10:
                    g2 = SCALE_GROUPS[rnd.randrange(60)]
                    if g2 != g1:
                        groups.append(g2)
                users = [self.members[g1][rnd.randrange(len(self.members[g1]))]] \
                    if rnd.random() < 0.05 and self.members[g1] else []
                created = started + j * 2 * 86400 + rnd.randrange(8 * 3600)
                if j < done:
                    status = "cancelled" if rnd.random() < 0.03 else "completed"
                    due = created + rnd.randrange(3, 10) * 86400 if rnd.random() < 0.9 else None
                    col = SCALE_COLOURS[rnd.randrange(100)] if due else None
                    who = self.members[g1][rnd.randrange(len(self.members[g1]))] if self.members[g1] else user
                    assignee, by = who, (who if status == "completed" else None)
                    completed = ts(min(created + rnd.randrange(3600, 200 * 3600), self.now - 60))
                else:
                    status, completed, by = "ready", N, None
                    x = rnd.random()
                    if x < 0.10:
                        due, col = None, None
                    elif x < 0.25:
                        due, col = self.now - rnd.randrange(3600, 480 * 3600), "red"
                    elif x < 0.35:
                        due, col = self.now + rnd.randrange(4 * 3600, 48 * 3600), "orange"
                    elif x < 0.50:
                        due, col = self.now + rnd.randrange(24 * 3600, 96 * 3600), "yellow"
                    else:
                        due, col = self.now + rnd.randrange(72 * 3600, 720 * 3600), "green"
                    created = min(created, self.now - 3600)
                    assignee = self.members[g1][rnd.randrange(len(self.members[g1]))] \
                        if rnd.random() < 0.15 and self.members[g1] else None
                    colour = col
                prio = SCALE_PRIORITIES[rnd.randrange(8)]
                due_t = ts(due) if due else N
                created_t = ts(created)
                task.append(f"{tid}\t{iid}\t{key}\t{element}\t{name}\t{N}\t{region}\t{','.join(groups)}\t"
                            f"{','.join(users) or N}\t{assignee or N}\t{due_t}\tf\t{prio}\t{col or N}\t{status}\t"
                            f"{created_t}\t{completed}\t{by or N}\t1\n")
                copy = (f"{status}\t{assignee or N}\t{col or N}\t{due_t}\t{prio}\t{region}\t{key}\t{name}\t{track}\t"
                        f"{created_t}\t{len(groups) + len(users)}\n")
                for g in groups:
                    cand.append(f"{tid}\tgroup\t{g}\t{copy}")
                for u in users:
                    cand.append(f"{tid}\tuser\t{u}\t{copy}")
            # the 晾晒 row
            company_no = (n * 7919) % max(1, self.n // 20)
            company = scale_company(company_no, region)
            deadline = started + rnd.choice((5, 7, 10, 15, 30)) * 86400
            sign_due = started + 86400
            signed = started + rnd.randrange(3600, 40 * 3600)
            returns = 1 if rnd.random() < 0.06 else 0
            topic = SCALE_TOPICS[rnd.randrange(len(SCALE_TOPICS))]
            head = (f"{iid}\t{key}\t{mname}\t{region}\t{dept}\t{region}第{dept_k}部门\t{track}\t{topic}\t{company}\t"
                    f"{ts(started)}\t{self.bj_month(started)}\t")
            sig = f"{ts(deadline)}\t{ts(sign_due)}\t{ts(signed)}\t{'t' if signed <= sign_due else 'f'}\t{returns}\t"
            if running:
                rank = SCALE_COLOUR_RANK[colour]
                fact.append(f"{head}{N}\t{N}\t{N}\tf\t{sig}{N}\t{N}\t{colour or N}\t{rank}\t部门办理\t{N}\trunning\t{N}\t"
                            f"{SCALE_NOW_TEXT}\n")
            else:
                closed = min(started + rnd.randrange(43200, 25 * 86400), self.now - 60)
                solved = rnd.random() < 0.93
                rating = "5554443321"[rnd.randrange(10)] if rnd.random() < 0.8 else None
                fact.append(f"{head}{ts(closed)}\t{self.bj_month(closed)}\t{'solved' if solved else 'unsolved'}\t"
                            f"{'t' if solved and closed > deadline else 'f'}\t{sig}{rating or N}\t"
                            f"{N if rating is None else ('t' if rating in '543' else 'f')}\t{N}\t{SCALE_CLOSED_RANK}\t"
                            f"{N}\t{round((closed - started) / 86400 * 5 / 7, 4)}\tcompleted\t{N}\t{SCALE_NOW_TEXT}\n")
            ticket.append(f"{n + 1}\t{track}\t{n:064x}\t{iid}\t{key}\t{company}\t{scale_credit_code(company_no)}\t"
                          f"联系人{n % 1000}\t{scale_phone(n)}\t{SCALE_CATEGORIES[n % 5]}\t{ts(started)}\t"
                          f"{SCALE_CHANNELS[n % 6]}\t{N if n % 3 else user}\t{topic}，{company}反映第{n % 97}项情况\n")
        return {"instance": "".join(inst), "task": "".join(task), "task_candidate": "".join(cand),
                "appeal_fact": "".join(fact), "appeal_ticket": "".join(ticket)}


SCALE_COLOUR_RANK = {"red": 0, "orange": 1, "yellow": 2, "green": 3, "blue": 4, None: 5}
SCALE_CLOSED_RANK = 9
SCALE_COLUMNS = {
    "instance": "id, definition_id, definition_key, business_key, region, status, version, state, started_by, "
                "started_at, updated_at, ended_at",
    "task": "id, instance_id, definition_key, element_id, name, lane, region, candidate_groups, candidate_users, "
            "assignee, due_at, due_provisional, priority, sla_colour, status, created_at, completed_at, "
            "completed_by, version",
    "task_candidate": "task_id, kind, name, status, assignee, sla_colour, due_at, priority, region, definition_key, "
                      "task_name, business_key, created_at, candidates",
    "appeal_fact": "instance_id, definition_key, mechanism_name, region, department, department_name, "
                   "business_key, title, company, started_at, month, closed_at, close_month, outcome, "
                   "solved_late, deadline, sign_due_at, signed_at, signed_on_time, returns, rating, satisfied, "
                   "colour, colour_rank, open_task, workdays, status, stages, updated_at",
    "appeal_ticket": "id, tracking_no, token_hash, instance_id, definition_key, company, credit_code, "
                     "contact_name, contact_phone, category, created_at, channel, registered_by, summary",
}


def scale_groups_of(i):
    """Users 0-999 are in 3 groups, 1000-1499 in 2, the rest in 1."""
    n = len(SCALE_GROUPS)
    gs = [i % n]
    if i < 1500:
        gs.append((i * 7 + 3) % n)
    if i < 1000:
        gs.append((i * 13 + 11) % n)
    return list(dict.fromkeys(SCALE_GROUPS[g] for g in gs))


def scale_company(no, region):
    a, b, c = SCALE_NAMES[no % 20], SCALE_NAMES2[(no // 20) % 10], SCALE_TRADES[(no // 200) % 10]
    return f"{region[:2]}{a}{b}{c}有限公司{no // 2000 or ''}"


def scale_credit_code(no):
    return f"91330{no:012d}X"


def scale_phone(n):
    return f"13{n % 10}{(n * 2654435761) % 100_000_000:08d}"


_worker_fill = None


def _worker_init(appeals, definitions):
    global _worker_fill
    _worker_fill = ScaleFill(appeals, definitions)


def _worker_chunk(start, stop):
    return _worker_fill.chunk(start, stop)


def check_disk(what):
    """Stop before the disk PostgreSQL writes to fills up (a full disk stops the server for
    everyone): QIHU_BENCH_MIN_FREE_GB (default 8) must stay free."""
    import shutil
    free = shutil.disk_usage(os.environ.get("QIHU_BENCH_DISK", "/")).free / 2 ** 30
    need = float(os.environ.get("QIHU_BENCH_MIN_FREE_GB", "8"))
    if free < need:
        raise SystemExit(f"磁盘剩余 {free:.1f} GB，低于 {need:.0f} GB，填充在{what}前停止 "
                         f"(only {free:.1f} GB free, below {need:.0f} GB: the fill stops before {what}; "
                         f"drop the schema or free space)")


def scale_filled(engine, appeals):
    with engine.db.engine.connect() as c:
        if c.exec_driver_sql("SELECT to_regclass('bench_fill')").scalar() is None:
            if c.exec_driver_sql("SELECT EXISTS (SELECT 1 FROM instance)").scalar():
                raise SystemExit("该 schema 中有未完成的填充（或另一个进程正在填充），请先删除它 "
                                 "(the schema holds an unfinished fill, or another process is filling it: "
                                 "DROP SCHEMA … CASCADE first)")
            return False
        return c.exec_driver_sql("SELECT count(*) FROM bench_fill WHERE appeals = %s",
                                 (int(round(appeals * 1_000_000)),)).scalar() > 0


FILL_TABLES = ("instance", "task", "task_candidate", "appeal_fact", "appeal_ticket")


def scale_fill(engine, appeals, chunk=20_000):
    """Fill the engine's (empty, migrated) PostgreSQL schema with `appeals` million appeals; prints
    the rates of each phase and returns {phase: seconds}. The engine has the appeal domain
    installed (figure_month is its recount of appeal_fact)."""
    import time
    from qihu import appeals as appeals_domain
    t0 = time.perf_counter()
    took = {}
    engine.repository.deploy([Path(__file__).resolve().parent.parent / "bpmn"])
    from qihu.appeals.scope import DASHBOARD_GROUP
    engine.accounts.add_user("scale_admin", "bench-Pw-2026!", is_admin=True)
    engine.accounts.add_user("scale_leader", "bench-Pw-2026!", groups=[DASHBOARD_GROUP], region=SCALE_REGIONS[0])
    with engine.db.engine.begin() as c:
        defs = c.exec_driver_sql("SELECT d.id, d.key, d.name FROM definition d "
                                 "WHERE d.version = (SELECT max(version) FROM definition e WHERE e.key = d.key) "
                                 "ORDER BY d.key").all()
        member_rows = [(u, g) for i, u in enumerate(SCALE_USERS) for g in scale_groups_of(i)]
        raw = c.connection.driver_connection
        with raw.cursor() as cur, cur.copy('COPY membership ("user", "group") FROM STDIN') as cp:
            for row in member_rows:
                cp.write_row(row)
    fill = ScaleFill(appeals, [(d.id, d.key, d.name or d.key) for d in defs])
    conn = engine.db.engine.raw_connection()
    try:
        raw = conn.driver_connection
        with raw.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("SET max_parallel_maintenance_workers = 2")
            # what the fill rebuilds afterwards: every index but the primary keys
            cur.execute("""SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid), con.conname,
                                  pg_get_constraintdef(con.oid)
                           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                           JOIN pg_class c ON c.oid = x.indrelid
                           LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype = 'u'
                           WHERE c.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary
                             AND c.relname = ANY(%s)""", (list(FILL_TABLES),))
            rebuild = cur.fetchall()
            for table, index, _, constraint, _ in rebuild:
                cur.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"' if constraint
                            else f'DROP INDEX "{index}"')
            raw.commit()
            cur.execute("SET session_replication_role = replica")   # no triggers, no FK checks
            t = time.perf_counter()
            rows = dict.fromkeys(FILL_TABLES, 0)
            # one process makes the next chunk's text while this one COPYs the current one
            from concurrent.futures import ProcessPoolExecutor
            pool = ProcessPoolExecutor(1, initializer=_worker_init, initargs=(appeals, fill.defs))
            starts = list(range(0, fill.n, chunk))
            ahead = [pool.submit(_worker_chunk, b, min(fill.n, b + chunk)) for b in starts[:2]]
            for i, start in enumerate(starts):
                texts = ahead.pop(0).result()
                if i + 2 < len(starts):
                    b = starts[i + 2]
                    ahead.append(pool.submit(_worker_chunk, b, min(fill.n, b + chunk)))
                if i % 25 == 0:
                    check_disk("写入数据 (COPY)")
                for table in FILL_TABLES:
                    with cur.copy(f"COPY {table} ({SCALE_COLUMNS[table]}) FROM STDIN") as cp:
                        cp.write(texts[table])
                    rows[table] += texts[table].count("\n")
                raw.commit()
                done = min(fill.n, start + chunk)
                if done % (chunk * 25) == 0 or done == fill.n:
                    el = time.perf_counter() - t
                    print(f"  … {done:,} appeals, {sum(rows.values()):,} rows in {el:.0f} s "
                          f"({sum(rows.values()) / el:,.0f} rows/s)", flush=True)
            pool.shutdown()
            took["copy"] = time.perf_counter() - t
            print(f"  COPY: {', '.join(f'{k} {v:,}' for k, v in rows.items())}; {sum(rows.values()):,} rows in "
                  f"{took['copy']:.0f} s = {sum(rows.values()) / took['copy']:,.0f} rows/s "
                  f"({fill.n / took['copy']:,.0f} appeals/s)", flush=True)
            cur.execute("SET session_replication_role = origin")
            cur.execute("SELECT setval(pg_get_serial_sequence('appeal_ticket', 'id'), %s)", (fill.n + 1,))
            raw.commit()
            t = time.perf_counter()
            # the largest first: while it is sorted, the smaller ones do not exist yet (peak disk)
            rebuild.sort(key=lambda r: (FILL_TABLES.index(r[0]) if r[0] != "task_candidate" else -1,
                                        -r[2].count(",")))
            for table, index, indexdef, constraint, condef in rebuild:
                check_disk(f"建索引 {index}")
                t1 = time.perf_counter()
                cur.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{constraint}" {condef}' if constraint else indexdef)
                raw.commit()
                print(f"  index {index}: {time.perf_counter() - t1:.0f} s", flush=True)
            took["indexes"] = time.perf_counter() - t
            t = time.perf_counter()
            raw.autocommit = True
            for table in (*FILL_TABLES, "membership", "user_account", "definition"):
                cur.execute(f"VACUUM ANALYZE {table}")
            raw.autocommit = False
            took["vacuum"] = time.perf_counter() - t
            print(f"  {len(rebuild)} indexes rebuilt in {took['indexes']:.0f} s; VACUUM ANALYZE {took['vacuum']:.0f} s",
                  flush=True)
    finally:
        conn.close()
    t = time.perf_counter()
    names = {}
    for (def_id, key, mname), region in (fill.mechanism(k) for k in range(10)):
        r = SCALE_REGIONS.index(region)
        for d in range(10):
            names[(region, key, f"dept_{r}_{d}")] = (mname, f"{region}第{d}部门")
    from qihu.appeals.figures import COUNTERS
    from qihu.appeals.models import FigureMonth
    from sqlalchemy import insert
    counted = appeals_domain.of(engine).figures.recount()    # the counting rule, in SQL
    with engine.db.engine.begin() as c:
        c.execute(insert(FigureMonth.__table__), [
            {"month": k[0], "region": k[1], "definition_key": k[2], "department": k[3],
             "mechanism_name": names[(k[1], k[2], k[3])][0], "department_name": names[(k[1], k[2], k[3])][1],
             **{name: v[name] for name in COUNTERS}} for k, v in counted.items()])
        c.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_fill (appeals bigint, tasks bigint, seconds float, "
                          "at timestamp DEFAULT now())")
        took["figures"] = time.perf_counter() - t
        took["total"] = time.perf_counter() - t0
        c.exec_driver_sql("INSERT INTO bench_fill (appeals, tasks, seconds) VALUES (%s, %s, %s)",
                          (fill.n, fill.n * SCALE_TASKS_PER_APPEAL, took["total"]))
    print(f"  figure_month ({len(counted):,} rows) from appeal_fact: {took['figures']:.0f} s; "
          f"fill total {took['total']:.0f} s", flush=True)
    return took


def compare_scales(label, per_scale, goal):
    """Print the p95 of each query at every scale and whether the curve is flat (every query's p95
    at the largest scale at most 1.5 x its p95 at the smallest, + 2 ms for timer noise); returns
    the last line's text."""
    first = per_scale[0]
    heads = [scale_label(s) for s, _ in per_scale]
    print(f"[{label}] p95 per query, ms:")
    print(f"  {'query':<26} " + " ".join(f"{h:>9}" for h in heads) + "    ratio  flat")
    flat_all = True
    for name in first[1]:
        p = [percentile(times[name], 95) for _, times in per_scale]
        flat = p[-1] <= 1.5 * p[0] + 2
        flat_all &= flat
        print(f"  {name:<26} " + " ".join(f"{v:9.2f}" for v in p) + f"  {p[-1] / max(p[0], 0.01):7.2f}  "
              f"{('yes' if flat else 'NO') if len(p) > 1 else '-'}")
    worst = [max(percentile(v, 95) for v in times.values()) for _, times in per_scale]
    return (f"{label} p95 ms: " + "; ".join(f"{h} {w:.2f}" for h, w in zip(heads, worst)) +
            f"; flat: {('yes' if flat_all else 'no') if len(per_scale) > 1 else 'n/a (one scale)'}; goal <= {goal} at "
            f"{heads[-1]}: {'met' if worst[-1] <= goal else 'missed'}")


def on_scales(args, name, time_fn):
    """For each --scale: a migrated PostgreSQL schema filled once (or reused when kept), then
    time_fn(engine) -> {query: [ms, ...]}. Prints the comparison and returns its last line."""
    from qihu import appeals as appeals_domain
    from qihu.engine import Engine
    from qihu.engine.clock import ManualClock
    from qihu.engine.config import Settings
    from datetime import datetime, timezone
    if args.fill_only and not args.keep_schema:
        raise SystemExit("--fill-only needs --keep-schema NAME (a fill that is not kept is dropped at once)")
    now = datetime.fromisoformat(SCALE_NOW_TEXT).replace(tzinfo=timezone.utc)
    per_scale = []
    admin = create_engine(PG_URL)
    try:
        for s, schema, kept in scale_schemas(args, name):
            with admin.begin() as c:
                c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            try:
                engine = Engine(settings=Settings(database_url=scale_url(schema)), clock=ManualClock(now))
                appeals_domain.install(engine)
                try:
                    label = f"postgresql {scale_label(s)}"
                    if scale_filled(engine, s):
                        print(f"[{label}] reusing the filled schema {schema}", flush=True)
                    else:
                        print(f"[{label}] filling schema {schema}: {scale_label(s)} appeals, "
                              f"{scale_label(s * SCALE_TASKS_PER_APPEAL)} task rows …", flush=True)
                        scale_fill(engine, s)
                    if args.fill_only:
                        continue
                    times = time_fn(engine)
                    print_times(label, "per call, ms", "query", times)
                    print(f"[{label}] load average (1, 5, 15 min) while timing: "
                          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores", flush=True)
                    per_scale.append((s, times))
                finally:
                    engine.close()
            finally:
                if not kept:
                    with admin.begin() as c:
                        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
    if args.fill_only:
        return "filled: " + ", ".join(schema for _, schema, _ in scale_schemas(args, name))
    if args.times:
        import json
        saved = {}
        if os.path.exists(args.times):
            with open(args.times) as f:
                saved = {float(k): v for k, v in json.load(f).items()}
        saved.update(dict(per_scale))
        with open(args.times, "w") as f:
            json.dump({str(k): v for k, v in saved.items()}, f)
        per_scale = sorted(saved.items())
    return compare_scales(name.replace("_bench", ""), per_scale, args.goal)

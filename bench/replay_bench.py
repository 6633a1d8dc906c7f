"""Replay a year of appeals: N appeals walked start to end by P engine processes on PostgreSQL.

The database is a PostgreSQL schema made for the run and dropped at its end (QIHU_BENCH_PG_URL,
default the test database of this machine). This process migrates it, deploys three bundled
mechanisms and puts their staff in their groups (the users of tests/mechanisms/), then starts P
processes; each builds its own engine as production does (handlers discovered, the appeal
domain installed: 晾晒 figures, notices, ledgers) and walks its share of the appeals, one after
another, through engine.runtime.start, engine.tasks.list / engine.tasks.complete (user checked,
form validated) and engine.handoff.return_task (退单). The processes start together (a barrier)
after two warm-up appeals each, which are not counted.

The mix, appeal i of the run drawn with random.Random(i), so a run is repeatable:
- 60% 通用 appeal_basic: 30% submitted by an enterprise (rated by it), 70% by phone (rated by the
  acceptor after a call back); 10% urgent; categories in turn. At 部门办理 5% are returned
  (退单 to 受理登记); 10% are first answered 不能办 → 督查复核, which sends 30% of those back
  (退回重办); the answers are 已解释说明 (20%) or 已解决. 8% of ratings are 不满意 → 二次督办:
  half 重新办理 (then rated well), half 办结.
- 20% 徐州 xz_two_supervisions: 10% major problems (会商会办 → 落实 → 核查, 15% of them short
  → 二次督办), 90% general (一次督办 → 整改 → 核查). At the first 整改 5% are returned (退单 to
  一次督办); 15% of first checks find it not rectified → 二次督办 → 整改 → 核查, where 20% are
  still short → 问责意见 → 快查快处. Each 督办 writes its 督办函 (.docx) as the diagram says.
- 20% 钱塘 qiantang_target_tracking: 20% are not targets (研判 → ordinary handling, ends); the
  others: 方案 (5% returned to 研判), the enterprise rates the plan (10% 不满意 → a revised
  plan), the unit solves it, 一事一评 (10% bad ratings, counted against the unit).

Timers do not fire: no Worker runs, the clock is the system clock and every deadline is days
away; the timer jobs are written as production writes them. Notices go to the default `log`
channel, delivered after each commit in the stepping process, as `qihu serve` does.
A step that meets a Conflict (another process's transaction on a shared row) is retried and
counted.

    .venv/bin/python bench/replay_bench.py [--appeals 2000] [--processes 2]
    .venv/bin/python bench/replay_bench.py --minutes 30 [--processes 2]     # the memory check

Prints appeals/s, per-appeal p50/p99 in ms (start to end, lookups included), steps per appeal,
the RSS of each process when built, after warm-up and at the end, and the time 140,200 appeals
(Zhejiang's 2025 volume) would take at the measured rate; last line
`replay 140200 minutes: M (processes P)`. Goal (issue 17): M <= 15 with two processes.
"""
import argparse
import multiprocessing as mp
import random
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replaylib import BPMN, YEAR_APPEALS, make_engine, percentile, pg_schema, rss_mb  # noqa: E402

DIAGRAMS = ["appeal_basic.bpmn", "xz_two_supervisions.bpmn", "qiantang_target_tracking.bpmn"]
MEMBERS = {
    # 通用 (tests/mechanisms/test_mech_appeal_basic.py)
    "li": ["acceptor"], "zheng": ["dept_policy"], "ziyuan": ["dept_resource"], "shenpi": ["dept_approval"],
    "zonghe": ["dept_general"], "du": ["supervisor"], "qiye": ["enterprise"],
    # 徐州 (test_mech_xuzhou.py)
    "zhou": ["xz_centre"], "ying": ["xz_office"], "xie": ["xz_coordination"], "wen": ["xz_accountability"],
    "ji": ["xz_discipline"], "gui": ["xz_unit_planning"], "shi": ["xz_unit_market"],
    # 钱塘 (test_mech_qiantang.py)
    "wang": ["qt_centre"], "zhao": ["qt_board_project"], "police": ["qt_unit_police"], "daineng": [],
}
BEIJING = timezone(timedelta(hours=8))
RETURN_REASON = "不属于本单位职责，退回重新分派"
CATEGORIES = ["policy", "approval", "other", "resource"]
DEPT_USER = {"policy": "zheng", "resource": "ziyuan", "approval": "shenpi", "other": "zonghe"}
XZ_REGISTER = {"company": "徐州某工程机械有限公司", "summary": "新建厂房不动产权证办理超期", "category": "complaint",
               "channel": "window", "problem_level": "general", "assess_opinion": "属一般问题，由中心一次督办"}
XZ_UNIT = {"xz_unit_planning": "gui", "xz_unit_market": "shi"}
QT_START = {"company": "玳能科技（杭州）有限公司", "enterprise_user": "daineng",
            "summary": "南侧土地回收后无货运出入口，需开设新的货运出入口", "channel": "企业码", "category": "项目建设"}


class Walk(Exception):
    """A step the walk did not expect: the appeal is reported, the run stops."""


# -- the appeals ----------------------------------------------------------------------------------
def appeal_plan(i):
    """(process key, start data, starting user, choices) of appeal i; the choices are flags the
    walk consumes once (pop), so a return or a bad rating happens once and the appeal then ends."""
    rng = random.Random(i)
    roll = lambda p: rng.random() < p      # noqa: E731
    kind = i % 10
    if kind < 6:
        category = CATEGORIES[i % 4]
        data = {"company": f"某科技公司{i}"}
        if roll(0.3):
            data["enterprise_user"] = "qiye"
        choices = {"category": category, "urgent": roll(0.1), "return": roll(0.05),
                   "result": "explain" if roll(0.2) else "solved"}
        if roll(0.10):
            choices["cannot"] = True
            choices["review_reject"] = roll(0.3)
        if roll(0.08):
            choices["bad"] = True
            choices["redo"] = roll(0.5)
        return "appeal_basic", data, None, choices
    if kind < 8:
        major = roll(0.10)
        choices = {"major": major, "unit": "xz_unit_market" if major or roll(0.5) else "xz_unit_planning",
                   "return": roll(0.05), "first_short": roll(0.15), "consult_short": roll(0.15)}
        choices["second_short"] = roll(0.20)
        return "xz_two_supervisions", {}, "zhou", choices
    choices = {"ordinary": roll(0.2), "return": roll(0.05), "plan_bad": roll(0.10), "bad": roll(0.10)}
    return "qiantang_target_tracking", dict(QT_START), None, choices


def answer(key, element, task, c, today):
    """What the person at `element` does: ("complete", user, data) or ("return", user, reason)."""
    if key == "appeal_basic":
        if element == "Task_accept":
            return "complete", "li", {"category": c["category"], "summary": "厂房用地审批慢", "urgent": c["urgent"]}
        if element == "Task_handle":
            user = DEPT_USER[c["category"]]
            if c.pop("return", False):
                return "return", user, RETURN_REASON
            result = "cannot" if c.pop("cannot", False) else c["result"]
            return "complete", user, {"result": result, "reply": "已协调办结"}
        if element == "Task_review":
            return "complete", "du", {"approved": not c.pop("review_reject", False), "opinion": "复核意见"}
        if element == "Task_rate":
            user = task["assignee"] or "li"
            if c.pop("bad", False):
                return "complete", user, {"rate_plan": "2", "rate_process": "3", "rate_result": "3",
                                          "rate_comment": "办理不及时，问题仍未解决"}
            return "complete", user, {"rate_plan": "5", "rate_process": "4", "rate_result": "5"}
        if element == "Task_second_supervision":
            return "complete", "du", {"second_result": "redo" if c.pop("redo", False) else "close",
                                      "second_opinion": "经核实，责令重新办理或说明理由"}
    elif key == "xz_two_supervisions":
        unit_user = XZ_UNIT[c["unit"]]
        verify = lambda ok: {"rectified": ok, "enterprise_view": "4" if ok else "2",   # noqa: E731
                             "verify_note": "企业确认已整改" if ok else "企业反映仍未解决"}
        if element == "Task_register":
            level = "major" if c["major"] else "general"
            return "complete", "zhou", dict(XZ_REGISTER, problem_level=level)
        if element == "Task_first_supervise":
            return "complete", "zhou", {"unit_group": c["unit"], "requirement": "限期办结并答复企业"}
        if element == "Task_first_rectify":
            if c.pop("return", False):
                return "return", unit_user, RETURN_REASON
            return "complete", unit_user, {"rectify_report": "已办结并发证"}
        if element == "Task_first_verify":
            return "complete", "zhou", verify(not c.pop("first_short", False))
        if element == "Task_consult":
            return "complete", "xie", {"consult_units": "市发展改革委、市市场监督管理局",
                                       "consult_decision": "市市场监管局牵头协调", "unit_group": c["unit"]}
        if element == "Task_implement":
            return "complete", unit_user, {"rectify_report": "议定事项已落实"}
        if element == "Task_consult_verify":
            return "complete", "xie", verify(not c.pop("consult_short", False))
        if element == "Task_second_supervise":
            return "complete", "ying", {"second_requirement": "主要负责同志牵头，限期办结"}
        if element == "Task_second_rectify":
            return "complete", unit_user, {"rectify_report": "二次督办后已整改"}
        if element == "Task_second_verify":
            return "complete", "ying", verify(not c.pop("second_short", False))
        if element == "Task_accountability":
            return "complete", "wen", {"responsible_person": "登记科科长", "leader_responsibility": "分管负责同志",
                                       "accountability_measure": "admonish", "accountability_facts": "两次督办仍未整改"}
        if element == "Task_discipline":
            return "complete", "ji", {"discipline_result": "对责任人诫勉", "typical_case": False}
    elif key == "qiantang_target_tracking":
        if element == "Task_assess":
            target = not c.pop("ordinary", False)
            return "complete", "wang", {"multi_handoff": target, "long_cycle": target, "wide_benefit": target,
                                        "board": "qt_board_project", "assess_opinion": "涉及多个部门审批"}
        if element == "Task_draft_plan":
            if c.pop("return", False):
                return "return", "zhao", RETURN_REASON
            return "complete", "zhao", {
                "plan_result": "feasible", "responsible_group": "qt_unit_police", "measures": "召开专题协调会",
                "milestones": "两周内完成方案审查", "plan_deadline": (today + timedelta(days=21)).isoformat()}
        if element == "Task_rate_plan":
            if c.pop("plan_bad", False):
                return "complete", "daineng", {"plan_satisfied": "2", "plan_comment": "时限太长"}
            return "complete", "daineng", {"plan_satisfied": "4"}
        if element == "Task_work":
            return "complete", "police", {"solved_report": "出入口已开设", "solved_evidence": "现场照片"}
        if element == "Task_final_rating":
            bad = c.pop("bad", False)
            return "complete", "daineng", {"plan_rating": "5", "process_rating": "2" if bad else "4",
                                           "result_rating": "1" if bad else "5", "rating_comment": "评价"}
    raise Walk(f"{key}: no answer for {element}")


def walk(engine, i, stats):
    """Start appeal i and work its tasks until it ends; returns the steps it took."""
    from qihu.engine.errors import Conflict
    key, data, starter, choices = appeal_plan(i)
    today = datetime.now(BEIJING).date()
    iid = engine.runtime.start(key, data, business_key=f"R-{i}", user=starter)
    steps = 1
    for _ in range(40):
        ready = engine.tasks.list(instance_id=iid)
        if not ready:
            status = engine.runtime.get(iid)["status"]
            if status != "completed":
                raise Walk(f"appeal {i} ({key}) stopped {status} with no task open")
            stats[f"{key} ended"] += 1
            return steps
        task = ready[0]
        before = {k for k, v in choices.items() if v is True}
        action, user, payload = answer(key, task["element_id"], task, choices, today)
        for flag in before - set(choices):        # a return, a bad rating, a short check: taken
            stats[f"{key}:{flag}"] += 1
        for attempt in range(5):
            try:
                if action == "return":
                    engine.handoff.return_task(task["id"], user, payload)
                    stats["退单"] += 1
                else:
                    engine.tasks.complete(task["id"], user, payload)
                break
            except Conflict:
                stats["conflicts retried"] += 1
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        stats[f"{key}.{task['element_id']}"] += 1
        steps += 1
    raise Walk(f"appeal {i} ({key}) did not end in 40 steps")


# -- one process ---------------------------------------------------------------------------------
def child(index, processes, url, appeals, minutes, warmup, barrier, results):
    rss_built = None
    try:
        engine = make_engine(url)
        rss_built = rss_mb()
        stats = Counter()
        for w in range(warmup):                              # not counted: caches, first connections
            walk(engine, 10 ** 7 + index * 1000 + w, Counter())
        rss_start = rss_mb()
        barrier.wait()
        t_start = time.perf_counter()
        deadline = t_start + minutes * 60 if minutes else None
        times, steps, i, report_at = [], 0, index, t_start + 300
        while (i < appeals) if deadline is None else (time.perf_counter() < deadline):
            t0 = time.perf_counter()
            steps += walk(engine, i, stats)
            now = time.perf_counter()
            times.append(now - t0)
            i += processes
            if deadline is not None and now >= report_at:
                print(f"  [process {index + 1}] {(now - t_start) / 60:.0f} min: {len(times)} appeals, "
                      f"RSS {rss_mb():.1f} MB", flush=True)
                report_at += 300
        elapsed = time.perf_counter() - t_start
        engine.close()
        results.put({"index": index, "times": times, "steps": steps, "elapsed": elapsed, "stats": dict(stats),
                     "rss": (rss_built, rss_start, rss_mb())})
    except BaseException as exc:          # the parent reports it; a broken barrier frees the others
        barrier.abort()
        results.put({"index": index, "error": f"{type(exc).__name__}: {exc}"})


def setup(url):
    e = make_engine(url, migrate=True)
    try:
        e.repository.deploy([BPMN / name for name in DIAGRAMS], name="replay bench", user="bench")
        for user, groups in MEMBERS.items():
            if groups:
                e.tasks.add_member(user, *groups)
    finally:
        e.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--appeals", type=int, default=2000, help="appeals to walk, all processes together (default 2000)")
    ap.add_argument("--processes", type=int, default=2, help="engine processes (default 2)")
    ap.add_argument("--minutes", type=float, help="run this long instead of --appeals (the memory check)")
    ap.add_argument("--warmup", type=int, default=2, help="appeals per process before the clock starts")
    args = ap.parse_args()
    P = args.processes

    ctx = mp.get_context("spawn")         # each process builds its engine from nothing, as a server does
    procs = []
    with pg_schema("replay_bench") as (schema, url):
        try:
            setup(url)
            barrier, results = ctx.Barrier(P + 1), ctx.Queue()
            for k in range(P):
                p = ctx.Process(target=child, args=(k, P, url, args.appeals, args.minutes, args.warmup, barrier,
                                                    results), daemon=True, name=f"replay-{k + 1}")
                p.start()
                procs.append(p)
            what = f"{args.minutes:g} minutes" if args.minutes else f"{args.appeals} appeals"
            print(f"replay: {what}, {P} processes, PostgreSQL schema {schema}; "
                  f"mechanisms {', '.join(d[:-5] for d in DIAGRAMS)}", flush=True)
            try:
                barrier.wait(timeout=600)
            except Exception:
                pass                       # a process failed before the start: its error follows
            t0 = time.perf_counter()
            got = []
            while len(got) < P:
                got.append(results.get(timeout=(args.minutes or 0) * 60 + 3600))
            wall = time.perf_counter() - t0
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=10)
                if p.is_alive():
                    p.kill()
                    p.join()

    errors = [r for r in got if "error" in r]
    if errors:
        for r in errors:
            print(f"process {r['index'] + 1} failed: {r['error']}")
        sys.exit(1)
    got.sort(key=lambda r: r["index"])
    times = [t for r in got for t in r["times"]]
    steps = sum(r["steps"] for r in got)
    stats = Counter()
    for r in got:
        stats.update(r["stats"])
    n = len(times)
    rate = n / wall
    ms = sorted(t * 1e3 for t in times)
    print(f"appeals walked: {n} in {wall:.1f} s ({steps} steps: starts, completions and 退单; "
          f"{steps / n:.2f} per appeal)")
    ended = {k.split(" ")[0]: v for k, v in stats.items() if k.endswith(" ended")}
    print("  by mechanism: " + ", ".join(f"{k} {v}" for k, v in sorted(ended.items())))
    taken = {k: v for k, v in sorted(stats.items()) if ":" in k}
    print(f"  退单 {stats['退单']} in all; choices taken: " + ", ".join(f"{k} {v}" for k, v in taken.items()))
    print(f"  conflicts retried: {stats['conflicts retried']}")
    print(f"appeals/s: {rate:.1f}; steps/s: {steps / wall:.1f}")
    print(f"per appeal: p50 {statistics.median(ms):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {ms[-1]:.1f} ms")
    tenth = max(1, min(len(r["times"]) for r in got) // 10)
    first = [t * 1e3 for r in got for t in r["times"][:tenth]]
    last = [t * 1e3 for r in got for t in r["times"][-tenth:]]
    print(f"per appeal p50, each process's first tenth: {statistics.median(first):.1f} ms; "
          f"last tenth: {statistics.median(last):.1f} ms (does the cost grow with the data?)")
    for r in got:
        built, start, end = r["rss"]
        print(f"  process {r['index'] + 1}: {len(r['times'])} appeals in {r['elapsed']:.1f} s; "
              f"RSS built {built:.1f} MB, at start {start:.1f} MB, at end {end:.1f} MB ({end - start:+.1f} MB)")
    minutes = YEAR_APPEALS / rate / 60
    print(f"{YEAR_APPEALS} appeals at {rate:.1f}/s: {minutes:.1f} minutes")
    print(f"replay {YEAR_APPEALS} minutes: {minutes:.1f} (processes {P})")


if __name__ == "__main__":
    main()

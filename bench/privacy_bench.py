"""What 个人信息保护 costs (issue 18, appeals/privacy.py): one logged read of an appeal's personal
fields, and the anonymisation of closed appeals, on SQLite and PostgreSQL.

Reads, interleaved so that machine noise hits all alike, READS of each:
- "audit only (before)": the security-audit row the pages wrote per view before issue 18;
- "read log + audit (page)": what the task page, the instance page and the 办理单 do now (the
  decision, the read row and the same audit row, one transaction);
- "read log only (API)": what /api/instances/<id> does.
Anonymisation: APPEALS appeals walked to the end, then the period passes: finding what is due,
and anonymising it (ticket, variables, history; one transaction per appeal).
Run: .venv/bin/python bench/privacy_bench.py [--db sqlite|postgresql|both]
"""
import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import add_database_args, on_databases, percentile, print_times  # noqa: E402
from qihu import appeals  # noqa: E402
from qihu.appeals.privacy import PrivacySettings  # noqa: E402
from qihu.engine import Engine  # noqa: E402
from qihu.engine.clock import ManualClock  # noqa: E402

BASIC = Path(__file__).resolve().parent.parent / "bpmn" / "appeal_basic.bpmn"
READS = 300
APPEALS = 100
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)


def run(label, url, _reuse):
    clock = ManualClock(START)
    engine = Engine(url, clock=clock)
    domain = appeals.install(engine)
    domain.privacy.settings = PrivacySettings(anonymise_days=30)
    engine.repository.deploy([BASIC])
    engine.accounts.add_user("li", "bench-pw-2026", groups=["acceptor"])
    engine.accounts.add_user("wang", "bench-pw-2026", groups=["dept_policy"])
    ids = []
    for i in range(APPEALS):
        iid = domain.portal.submit("appeal_basic", company=f"湖州某新材料有限公司{i}", credit_code="91330100799655058B",
                                   contact_name="张经理", contact_phone=f"138{i:08d}", category="policy",
                                   summary="惠企政策兑现资金迟迟未到账，影响周转")["instance_id"]
        [t] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "资金未到账"})
        ids.append(iid)
    case = domain.case(ids[0])
    times = {"audit only (before)": [], "read log + audit (page)": [], "read log only (API)": []}
    for n in range(READS):
        iid = ids[n % len(ids)]
        t0 = time.perf_counter()
        engine.audit.record("personal_data_viewed", actor="wang", target=iid, detail={"page": "task"})
        t1 = time.perf_counter()
        domain.privacy.shown("wang", iid, case, "task", audit={"page": "task"})
        t2 = time.perf_counter()
        domain.privacy.shown("wang", iid, case, "api")
        t3 = time.perf_counter()
        for name, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
            times[name].append(dt * 1e3)
    print_times(label, f"one read of an appeal's personal fields, {READS} each, interleaved", "ms", times)
    for iid in ids:
        [t] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(t["id"], "wang", {"result": "solved", "reply": "已协调兑现"})
        [rate] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(rate["id"], rate["assignee"], {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    clock.set(clock.now() + timedelta(days=31))
    t0 = time.perf_counter()
    due = domain.privacy.due_for_anonymising(limit=APPEALS)
    t1 = time.perf_counter()
    done = domain.privacy.anonymise(limit=APPEALS)
    t2 = time.perf_counter()
    assert domain.privacy.due_for_anonymising() == []
    again = time.perf_counter() - t2
    assert len(due) == done == APPEALS, (len(due), done)
    print(f"[{label}] anonymise: finding {len(due)} due {1e3 * (t1 - t0):.1f} ms; "
          f"{1e3 * (t2 - t1) / done:.1f} ms per appeal; nothing due afterwards {1e3 * again:.1f} ms", flush=True)
    engine.close()
    return max(percentile(v, 95) for v in times.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_args(ap)
    worst = on_databases(ap.parse_args(), "privacy", run)
    print("privacy read p95 ms: " + "; ".join(f"{k} {v:.2f}" for k, v in worst.items()))


if __name__ == "__main__":
    main()

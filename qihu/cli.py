"""`qihu` command line: deploy, definitions, start, tasks, complete, worker, serve, demo."""
import json
import logging
import sys
from pathlib import Path

import click

from qihu import appeals
from qihu.engine.errors import DeployError, QihuError
from qihu.engine.dialect.timers import local_text

BUNDLED_BPMN = Path(__file__).resolve().parent.parent / "bpmn"


def _engine():
    """An engine from the QIHU_* settings with the appeal domain installed: the CLI composes
    the two, as the web extension does."""
    from qihu.engine.core import Engine
    engine = Engine()
    appeals.install(engine)
    return engine


def _appeals():
    return appeals.of(_engine())


def _json_arg(text, what):
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise click.UsageError(f"{what} is not valid JSON: {e.msg} at column {e.colno}")
    if not isinstance(value, dict):
        raise click.UsageError(f"{what} must be a JSON object")
    return value


def _out(obj):
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


class QihuGroup(click.Group):
    """Turns engine errors into one line on stderr and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DeployError as e:
            click.echo(f"error: {e}", err=True)
            for p in e.problems[1:]:
                click.echo(f"  {p}", err=True)
            sys.exit(2)
        except QihuError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=QihuGroup)
@click.option("-v", "--verbose", is_flag=True, help="log more")
def main(verbose):
    """qihu 企呼: BPMN engine for enterprise-appeal mechanisms."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _audit_from_cli()


def _audit_from_cli():
    """Security-audit records made by a command name the command line (and the login) as their address."""
    import getpass
    from qihu.engine.identity.audit import set_context
    try:
        who = getpass.getuser()
    except Exception:   # noqa: BLE001 - no login name (a container)
        who = "?"
    set_context(None, f"cli:{who}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--name", help="deployment name")
@click.option("--user", help="who deploys")
@click.option("--activate/--no-activate", default=True,
              help="new instances start on the new versions (default), or stage them for `qihu activate`")
@click.option("--region", help="the region (tenant) the bundle is for, e.g. 丽水市庆元县")
def deploy(files, name, user, activate, region):
    """Deploy .bpmn/.dmn files (or folders or zips of them) as one bundle."""
    r = _engine().repository.deploy(list(files), name=name, user=user, activate=activate, region=region)
    for w in r.warnings:        # accepted, but worth a look: e.g. a user task naming nobody (待分派)
        where = ":".join(str(x) for x in (w["file"], w["line"]) if x)
        click.echo(f"warning: {where} [{w['element']}]: {w['message']}", err=True)
    if not r.created:
        click.echo("unchanged: identical content is already deployed")
    for d in r.definitions:
        click.echo(f"{d['key']} v{d['version']}" + ("" if d["new"] else " (unchanged)")
                   + (" (staged: not active)" if d["new"] and not activate else ""))


@main.command()
@click.argument("key")
def versions(key):
    """Every version of KEY: who deployed it, when, running instances; * marks the active one."""
    for v in _engine().repository.versions(key):
        mark = "*" if v["active"] else " "
        click.echo(f"{mark} v{v['version']}\t{local_text(v['deployed_at'])}\t{v['deployed_by'] or '-'}\t"
                   f"{v['running']} running\t{v['name'] or ''}")


@main.command()
@click.argument("key")
@click.argument("version", type=int)
@click.option("--user", help="who activates")
def activate(key, version, user):
    """Make VERSION of KEY the one new instances start on (running instances keep theirs)."""
    _engine().repository.activate(key, version, user=user)
    click.echo(f"{key} v{version} is active")


@main.command()
@click.argument("key")
@click.argument("old", type=int)
@click.argument("new", type=int)
def diff(key, old, new):
    """Elements added (+), removed (-) and changed (~) from version OLD of KEY to NEW."""
    d = _engine().repository.diff(key, old, new)
    for mark, kind in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for el in d[kind]:
            click.echo(f"{mark} {el['id']}\t{el['type']}\t{el['name'] or ''}")
    if not (d["added"] or d["removed"] or d["changed"]):
        click.echo(f"no change in behaviour from v{old} to v{new}")


@main.command()
@click.argument("key")
@click.option("--from", "from_version", type=int, required=True, help="the version the instances are on")
@click.option("--to", "to_version", type=int, required=True, help="the newer version to move them to")
@click.option("--instance", "instances", multiple=True, help="only this instance (repeatable); default: all "
              "running and suspended ones on --from")
@click.option("--dry-run", is_flag=True, help="show what would happen, change nothing")
@click.option("--user", help="who migrates (audited)")
def migrate(key, from_version, to_version, instances, dry_run, user):
    """Move running instances of KEY to a newer version (engine/runtime/migration.py).

    One line per instance: migrated (or would migrate) / refused, with the reasons. Exit code 0
    when none was refused, 3 when some were (the others did move: each moves on its own)."""
    r = _engine().migrations.migrate(key, from_version, to_version, instance_ids=list(instances) or None,
                                     user=user, dry_run=dry_run)
    ok = "可迁移 would migrate" if dry_run else "已迁移 migrated"
    for m in r["migrated"]:
        reset = f"\t重新派发 reset: {', '.join(m['reset'])}" if m["reset"] else ""
        click.echo(f"{ok}\t{m['id']}\t{m['business_key'] or '-'}{reset}")
    for m in r["refused"]:
        click.echo(f"拒绝 refused\t{m['id']}\t{m['business_key'] or '-'}\t"
                   + "; ".join(x["text"] for x in m["reasons"]))
    tail = " (dry run: nothing changed)" if dry_run else ""
    click.echo(f"{key} v{r['from']} -> v{r['to']}: {len(r['migrated'])} "
               f"{'would migrate' if dry_run else 'migrated'}, {len(r['refused'])} refused{tail}")
    if r["refused"]:
        sys.exit(3)


@main.command()
@click.option("--all-versions", is_flag=True)
def definitions(all_versions):
    """List deployed definitions (latest versions)."""
    for d in _engine().repository.definitions(latest_only=not all_versions):
        click.echo(f"{d['key']}\tv{d['version']}\t{d['name'] or ''}")


@main.command()
@click.argument("key")
@click.option("--data", help="initial variables, a JSON object")
@click.option("--business-key")
@click.option("--version", type=int)
@click.option("--user")
def start(key, data, business_key, version, user):
    """Start an instance of KEY."""
    e = _engine()
    iid = e.runtime.start(key, _json_arg(data, "--data"), business_key=business_key, version=version, user=user)
    click.echo(iid)
    for t in e.tasks.list(instance_id=iid):
        click.echo(f"  task {t['id']}  {t['name']}  groups={','.join(t['candidate_groups'])}", err=True)


@main.command()
@click.option("--user", help="only tasks this user may work on (own + groups)")
@click.option("--instance")
@click.option("--json", "as_json", is_flag=True)
def tasks(user, instance, as_json):
    """List open user tasks."""
    e = _engine()
    rows = e.tasks.list(user=user, instance_id=instance, limit=500)
    if as_json:
        return _out(rows)
    keys = _business_keys(e, rows)
    for t in rows:
        who = t["assignee"] or ",".join(t["candidate_groups"] + t["candidate_users"])
        due = local_text(t["due_at"]) or "-"
        colour = f" {t['sla_colour']}" if t["sla_colour"] else ""
        ref = f"{keys[t['instance_id']]}/{t['element_id']}" if keys.get(t["instance_id"]) else t["element_id"]
        click.echo(f"{t['id']}\t{ref}\t{t['name']}\t{who}\tdue {due}{colour}")


def _business_keys(e, rows):
    from sqlalchemy import select
    from qihu.engine.storage.models import Instance
    ids = {t["instance_id"] for t in rows}
    if not ids:
        return {}
    with e.db.read() as s:
        return dict(s.execute(select(Instance.id, Instance.business_key).where(Instance.id.in_(ids))).all())




@main.command()
@click.argument("task_id", metavar="TASK")
@click.option("--user", required=True)
@click.option("--data", help="form data, a JSON object")
def complete(task_id, user, data):
    """Complete TASK (a task id, or BUSINESS_KEY/ELEMENT_ID) with form data."""
    e = _engine()
    try:
        e.tasks.complete(e.tasks.resolve(task_id), user, _json_arg(data, "--data"))
    except QihuError as err:
        errors = getattr(err, "errors", None)
        if errors:
            for k, v in errors.items():
                click.echo(f"  {k}: {v}", err=True)
        raise
    click.echo("completed")


@main.command()
@click.argument("task_id")
@click.option("--user", required=True)
def claim(task_id, user):
    """Claim a task (a task id, or BUSINESS_KEY/ELEMENT_ID)."""
    e = _engine()
    e.tasks.claim(e.tasks.resolve(task_id), user)
    click.echo("claimed")


@main.command()
@click.option("--user", help="list it as this administrator or dispatcher sees it (their region); default: all")
@click.option("--json", "as_json", is_flag=True)
def unassigned(user, as_json):
    """List the 待分派 queue: open user tasks that name nobody, to `qihu assign` or `qihu offer`."""
    e = _engine()
    rows = e.tasks.unassigned(user, limit=500, check=user is not None)["tasks"]
    if as_json:
        return _out(rows)
    for t in rows:
        ref = f"{t['business_key']}/{t['element_id']}" if t["business_key"] else t["element_id"]
        due = local_text(t["due_at"]) or "-"
        click.echo(f"{t['id']}\t{ref}\t{t['name']}\t{t['region'] or '-'}\tdue {due}")


@main.command()
@click.argument("task_id", metavar="TASK")
@click.argument("to_user", metavar="PERSON")
@click.option("--user", required=True, help="who assigns: an administrator or dispatcher (audited)")
@click.option("--note", help="a note for the person")
def assign(task_id, to_user, user, note):
    """Give TASK of the 待分派 queue (a task id, or BUSINESS_KEY/ELEMENT_ID) to PERSON."""
    e = _engine()
    e.tasks.assign(e.tasks.resolve(task_id), user, to_user, note=note)
    click.echo(f"assigned to {to_user}")


@main.command()
@click.argument("task_id", metavar="TASK")
@click.option("--group", "groups", multiple=True, help="a candidate group (repeatable)")
@click.option("--to-user", "users", multiple=True, help="a candidate user (repeatable)")
@click.option("--user", required=True, help="who offers: an administrator or dispatcher (audited)")
@click.option("--note", help="a note for the candidates")
def offer(task_id, groups, users, user, note):
    """Offer TASK of the 待分派 queue to candidate groups and/or users, who claim it."""
    e = _engine()
    e.tasks.offer(e.tasks.resolve(task_id), user, groups=list(groups), users=list(users), note=note)
    click.echo("offered to " + ", ".join([*groups, *users]))


@main.command()
@click.argument("task_id")
@click.option("--user", required=True)
def unclaim(task_id, user):
    """Give a claimed task back to its groups."""
    e = _engine()
    e.tasks.unclaim(e.tasks.resolve(task_id), user)
    click.echo("unclaimed")


@main.command()
@click.argument("name")
@click.option("--business-key")
@click.option("--correlation", help="correlation values, a JSON object")
@click.option("--data", help="payload, a JSON object")
@click.option("--all", "to_all", is_flag=True, help="deliver to every matching instance")
def message(name, business_key, correlation, data, to_all):
    """Correlate a message to waiting instances (or start the definition it starts)."""
    _out(_engine().runtime.correlate(name, business_key=business_key, correlation=_json_arg(correlation, "--correlation"),
                                     payload=_json_arg(data, "--data"), all=to_all))


@main.command()
@click.argument("name")
@click.option("--data", help="variables for what catches it, a JSON object")
def signal(name, data):
    """Broadcast a signal to every waiting instance (and start the processes it starts)."""
    _out(_engine().runtime.signal(name, _json_arg(data, "--data")))


@main.command("set-variables")
@click.argument("instance")
@click.option("--data", required=True, help="the variables, a JSON object")
def set_variables(instance, data):
    """Set variables on a running instance (id or business key); conditional events look again."""
    e = _engine()
    iid = _instance_ref(e, instance)
    e.runtime.set_variables(iid, _json_arg(data, "--data") or {})
    _out(e.runtime.get(iid))


@main.command()
@click.option("--key")
@click.option("--status")
def instances(key, status):
    """List instances."""
    for i in _engine().runtime.instances(key=key, status=status):
        click.echo(f"{i['id']}\t{i['definition_key']}\t{i['status']}\t{i['business_key'] or ''}\t{i['started_at']}")


def _instance_ref(e, ref, key=None):
    """An instance id, or a business key (the latest instance with it, of definition `key` if given)."""
    from qihu.engine.errors import NotFound
    try:
        return e.runtime.get(ref)["id"]
    except NotFound:
        pass
    found = e.runtime.instances(key=key, business_key=ref, limit=1000)
    if not found:
        raise NotFound(f"no instance {ref}" + (f" of {key}" if key else ""))
    return max(found, key=lambda i: i["started_at"])["id"]


@main.command()
@click.argument("instance_id", metavar="INSTANCE")
@click.option("--key", help="with a business key shared by several mechanisms: the definition")
def show(instance_id, key):
    """An instance (id or business key): state, variables, open tasks, incidents and audit trail."""
    e = _engine()
    instance_id = _instance_ref(e, instance_id, key)
    _out({"instance": e.runtime.get(instance_id), "data": e.runtime.data(instance_id),
          "tasks": e.tasks.list(instance_id=instance_id), "incidents": e.runtime.incidents(instance_id),
          **appeals.of(e).records(instance_id), "history": e.history.events(instance_id)})


@main.command()
@click.argument("attachment_id", type=int)
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="file to write (default: its own name)")
def attachment(attachment_id, out):
    """Save an attachment of an instance (e.g. a 督办函 .docx) to a file."""
    name, _, content = _engine().history.attachment(attachment_id)
    path = Path(out or Path(name).name)
    path.write_bytes(content)
    click.echo(f"{path} ({len(content)} bytes)")


@main.command()
@click.argument("instance_id")
@click.option("--reason")
def cancel(instance_id, reason):
    _engine().runtime.cancel(instance_id, reason=reason)
    click.echo("cancelled")


@main.command()
@click.argument("instance_id")
def suspend(instance_id):
    _engine().runtime.suspend(instance_id)
    click.echo("suspended")


@main.command()
@click.argument("instance_id")
def resume(instance_id):
    _engine().runtime.resume(instance_id)
    click.echo("resumed")


@main.command()
def incidents():
    """Open incidents (failing handlers)."""
    for i in _engine().runtime.incidents():
        click.echo(f"{i['id']}\t{i['instance_id']}\t{i['element_id']}\t{i['topic']}\t"
                   f"{i['error_type']}: {i['message']}\tretries left {i['retries_left']}")


@main.command()
@click.argument("incident_id", type=int)
def retry(incident_id):
    """Call the failed handler again now."""
    _engine().runtime.retry_incident(incident_id)
    click.echo("retried")


@main.command()
@click.argument("incident_id", type=int)
@click.option("--data", help="the handler's result, supplied by hand (JSON object)")
@click.option("--user")
def resolve(incident_id, data, user):
    """Complete the failed task with data given by hand."""
    _engine().runtime.resolve_incident(incident_id, _json_arg(data, "--data"), user=user)
    click.echo("resolved")


def _service_logging(settings):
    """The logs of a long-running process (serve, worker): telemetry's one handler, text or
    JSON (QIHU_LOG_FORMAT), in place of the plain stderr one main() set up, which would print
    every line a second time."""
    from qihu.engine.runtime import telemetry
    root = logging.getLogger()
    for handler in [h for h in root.handlers if type(h) is logging.StreamHandler and h.stream is sys.stderr]:
        root.removeHandler(handler)
    telemetry.configure_logging(settings)


@main.command()
@click.option("--once", is_flag=True, help="one sweep, then exit")
@click.option("--metrics-port", type=click.IntRange(1, 65535),
              help="also serve Prometheus metrics on http://127.0.0.1:PORT/metrics")
def worker(once, metrics_port):
    """Fire due timers and handler retries, deliver what steps sent; until SIGTERM or Ctrl-C,
    which let the step in flight finish (exit code 0). Run as many as needed, on any machine
    that reaches the database."""
    from qihu.engine.runtime import telemetry
    from qihu.engine.runtime.worker import Worker
    from qihu.serving import run_worker
    telemetry.prepare_worker()        # its own metrics, never in the web processes' directory
    engine = _engine()
    telemetry.install(engine)         # its steps (timers, retries, deliveries) counted and logged
    w = Worker(engine)
    if once:                          # one line of output, as any other command's
        click.echo(f"fired {w.run_once()}")
        return
    _service_logging(w.engine.settings)
    if metrics_port:
        telemetry.serve_metrics(metrics_port)
    run_worker(w)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to serve on (0.0.0.0: every one)")
@click.option("--port", default=5000, type=int, show_default=True, help="port to serve on")
@click.option("--processes", type=click.IntRange(min=1), help="web processes (default: QIHU_WEB_PROCESSES, 2)")
@click.option("--threads", type=click.IntRange(min=1), help="threads per web process (default: QIHU_WEB_THREADS, 4)")
@click.option("--no-worker", is_flag=True, help="run no embedded worker (run `qihu worker` separately)")
def serve(host, port, processes, threads, no_worker):
    """Serve the web app with gunicorn (docs/deploy.md), with one embedded worker process unless
    --no-worker. Needs QIHU_SECRET_KEY. SIGTERM stops gracefully: requests and steps in flight
    finish first.

    Production: the session cookie is sent with Secure (HTTPS only), so serve it behind an
    HTTPS proxy; QIHU_SECURE_COOKIES=0 turns that off for plain HTTP on a trusted network."""
    import os
    from qihu.engine.config import Settings
    from qihu import serving
    from qihu.web import EXTENSION_KEY
    from qihu.web.app import InsecureSecretKey, create_app
    settings = Settings.from_env()
    # production unless told otherwise: cookies only over HTTPS (the environment's setting wins)
    config = {} if os.environ.get("QIHU_SECURE_COOKIES") is not None else {"QIHU_SECURE_COOKIES": True}

    def app():            # called in each web process after the fork, and once here
        return create_app(config=config)

    # Built once here, before any fork, and closed again: a wrong setting is one line and exit
    # code 1 instead of every web process failing to boot, and the schema is migrated once
    # instead of by all the web processes at the same moment. Its pool is disposed, so no
    # connection crosses the fork; each web process makes its own engine.
    try:
        checked = app()
    except (InsecureSecretKey, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    checked.extensions[EXTENSION_KEY].engine.close()
    _service_logging(settings)        # after the check: a refusal is the first line printed
    if checked.config["SESSION_COOKIE_SECURE"]:
        click.echo("session cookies are Secure: open the app through HTTPS "
                   "(plain HTTP on a trusted network: QIHU_SECURE_COOKIES=0)")
    serving.serve(app, host=host, port=port, processes=processes or settings.web_processes,
                  threads=threads or settings.web_threads, embedded_worker=not no_worker)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to serve on (0.0.0.0: every one)")
@click.option("--port", default=5000, type=int, show_default=True, help="port to serve on")
def demo(host, port):
    """Deploy the bundled diagrams, add demo users and sample appeals (once), and serve with an
    embedded worker.

    Without QIHU_SECRET_KEY the session key is a random one kept in the data folder
    (QIHU_DATA_DIR/secret_key), made on the first run."""
    import os
    from qihu.appeals.demo import seed
    from qihu.web.app import DEFAULT_SECRET_KEY, create_app, local_secret_key, secret_key_from_env
    from qihu.appeals.privacy import PrivacySettings
    e = _engine()
    # 个人信息保护 in the demo (appeals/privacy.py): each mechanism's 受理/登记 group reads the
    # complainant's contact in full, and closed appeals are anonymised after a short period
    # (the environment's QIHU_PRIVACY_* still win)
    appeals.of(e).privacy.settings = PrivacySettings.from_env({
        "QIHU_PRIVACY_FULL_GROUPS": DEMO_FULL_GROUPS, "QIHU_PRIVACY_ANONYMISE_DAYS": "30", **os.environ})
    for line in seed(e, BUNDLED_BPMN, samples=True):
        click.echo(line)
    config = {}
    if secret_key_from_env() == DEFAULT_SECRET_KEY:
        config["SECRET_KEY"] = local_secret_key(os.environ.get("QIHU_DATA_DIR") or "data")
    app = create_app(engine=e, embedded_worker=True, config=config)
    click.echo(f"qihu demo on http://{host}:{port}/  (Ctrl-C to stop)")
    app.run(host=host, port=port, threaded=True)


DEMO_FULL_GROUPS = ("acceptor,hz_centre,qt_centre,lc_office,lq_centre,qy_centre,dh_centre,xz_centre,ja_office,"
                    "gt_platform,an_department")


@main.command()
@click.option("--samples", is_flag=True, help="also the demo's sample appeals (every state; added once)")
def seed(samples):
    """Deploy the bundled diagrams and add the demo users, without serving (for the CLI walk-through)."""
    from qihu.appeals.demo import seed as seed_demo
    for line in seed_demo(_engine(), BUNDLED_BPMN, samples=samples):
        click.echo(line)


@main.command()
@click.argument("user")
@click.argument("groups", nargs=-1, required=True)
def member(user, groups):
    """Put USER in GROUPS (groups are the diagrams' candidate groups and lanes)."""
    e = _engine()
    e.tasks.add_member(user, *groups)
    click.echo(f"{user}: {', '.join(e.tasks.groups_of(user))}")


@main.group()
def calendar():
    """The working-day calendar: load an announced year, add regional days."""


def _dates(text, what):
    from datetime import date
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(date.fromisoformat(part))
        except ValueError:
            raise click.UsageError(f"{what}: {part!r} is not a date (YYYY-MM-DD)")
    return out


@calendar.command("load")
@click.argument("year", type=int)
@click.option("--holidays", default="", help="days off, comma-separated YYYY-MM-DD")
@click.option("--workdays", default="", help="make-up working days (调休), comma-separated YYYY-MM-DD")
@click.option("--notice", "notice_file", type=click.File("r", encoding="utf-8"),
              help="the State Council's notice (国务院办公厅关于YEAR年部分节假日安排的通知) as published: "
                   "a text file, or - for stdin")
@click.option("--yes", is_flag=True, help="store what the notice says without asking")
@click.option("--region", default="", help="a region's own calendar (default: national)")
@click.option("--user")
def calendar_load(year, holidays, workdays, notice_file, yes, region, user):
    """Load the official calendar of YEAR as the State Council announced it, then re-plan the
    provisional (暂定) deadlines that reach into it."""
    from qihu.engine.calendar_notice import NoticeError, describe, parse_notice
    if notice_file is not None:
        if holidays or workdays:
            raise click.UsageError("--notice 与 --holidays/--workdays 只能选其一")
        try:
            notice = parse_notice(notice_file.read(), year)
        except NoticeError as e:
            click.echo(f"无法读取通知：{e}", err=True)
            sys.exit(2)
        for line in describe(notice):
            click.echo(line)
        if not yes:
            if notice_file.name == "<stdin>":
                raise click.UsageError("通知从标准输入读取时无法再询问确认：核对无误后请加 --yes 重新执行")
            click.confirm("按以上安排导入？", abort=True)
        off, work = notice.days_off(), notice.working_days()
    elif holidays:
        off, work = _dates(holidays, "--holidays"), _dates(workdays, "--workdays")
    else:
        raise click.UsageError("give --holidays (and --workdays) or --notice FILE")
    try:
        moved = _engine().calendar.load_year(year, off, work, region=region, user=user)
    except ValueError as e:
        raise click.UsageError(str(e))
    click.echo(f"calendar {year}{' ' + region if region else ''} loaded")
    _echo_replanned(moved)


def _echo_replanned(moved):
    if not moved:
        return
    click.echo(f"重新计算了 {len(moved)} 个暂定期限：")
    for m in moved:
        what = f"「{m['name']}」期限" if m["kind"] == "task" else f"定时 {m['element_id']}"
        still = "（仍为暂定）" if m["provisional"] else ""
        click.echo(f"  {m['instance_id']} {what}：{local_text(m['old'])} → {local_text(m['new'])}{still}")


@calendar.command("replan")
@click.argument("year", type=int)
@click.option("--region", default="", help="only the instances of this region (its own loaded year)")
@click.option("--user")
def calendar_replan(year, region, user):
    """Re-plan the provisional deadlines reaching into YEAR again (load does it; run this if a
    load was interrupted, or after a year was loaded by another tool)."""
    from qihu.engine.runtime.replan import replan_year
    moved = replan_year(_engine(), year, user, region=region)
    _echo_replanned(moved)
    if not moved:
        click.echo("没有需要重新计算的暂定期限")


@calendar.command("status")
@click.argument("years", type=int, nargs=-1)
@click.option("--region", default="")
def calendar_status(years, region):
    """Where the working days of YEARS come from (default: this year and the next two)."""
    e = _engine()
    names = {"official": "官方日历（chinesecalendar）", "loaded": "已导入", "provisional": "暂定（按法定节假日推算）",
             "unknown": "未知（截止期限无法计算）"}
    first = e.clock.now().year
    for year in years or range(first, first + 3):
        click.echo(f"{year}: {names[e.calendar.year_status(year, region)]}")


@calendar.command("day")
@click.argument("day")
@click.option("--region", required=True, help="e.g. 庆元县")
@click.option("--off", "state", flag_value="off", help="a local holiday")
@click.option("--on", "state", flag_value="on", help="a local working day")
@click.option("--clear", "state", flag_value="clear", help="back to the national calendar")
@click.option("--note")
def calendar_day(day, region, state, note):
    """Set or clear a regional day."""
    [d] = _dates(day, "DAY") or [None]
    cal = _engine().calendar
    if state == "clear":
        cal.clear_day(d, region)
    elif state in ("on", "off"):
        cal.set_day(d, state == "on", region, note=note)
    else:
        raise click.UsageError("give --off, --on or --clear")
    click.echo(f"{d} {region}: {'working day' if cal.is_workday(d, region) else 'day off'}")


@main.group()
def figures():
    """The 晾晒 dashboard's figures (appeals/figures.py): rebuild them from the instances, check them."""


@figures.command("rebuild")
@click.option("--key", help="only the instances of this process (default: all)")
@click.option("--batch", type=click.IntRange(min=1), default=200, show_default=True,
              help="instances per transaction")
def figures_rebuild(key, batch):
    """Recompute every appeal's fact row from its stored state, then the monthly counters from the
    facts (after an upgrade, a diagram that declares figure.* later, or counters that drifted).
    Exit code 0, or 1 when some instances could not be read (listed; their rows are left as they were)."""
    def progress(scanned, written):
        click.echo(f"... {scanned} scanned, {written} written", err=True)
    r = _appeals().figures.rebuild(key=key, batch=batch, progress=progress)
    for iid, reason in r["failed"]:
        click.echo(f"未能重算 failed\t{iid}\t{reason}")
    click.echo(f"instances scanned {r['scanned']}, fact rows: wrote {r['written']}, removed {r['removed']}, "
               f"failed {len(r['failed'])}; figure_month months rebuilt {r['months']}")
    if r["failed"]:
        sys.exit(1)


@figures.command("check")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="differences listed")
def figures_check(limit):
    """Compare figure_month with a recount of the fact rows. Exit code 0 when they agree, 1 (listing
    the first differences) when they do not: `qihu figures rebuild` repairs them."""
    diffs = _appeals().figures.check_consistency()
    if not diffs:
        click.echo("figure_month 与重新统计一致 (figure_month equals a recount of appeal_fact)")
        return
    for d in diffs[:limit]:
        month, region, key, department = d["key"]
        click.echo(f"{month}\t{region or '-'}\t{key}\t{department or '-'}\t{d['counter']}: "
                   f"stored {d['stored']}, recount {d['recount']}")
    click.echo(f"{len(diffs)} difference(s) between figure_month and a recount; "
               "repair with `qihu figures rebuild`", err=True)
    sys.exit(1)


@main.command("db-upgrade")
def db_upgrade():
    """Apply database migrations (also done automatically on start)."""
    from qihu.engine.core import Engine
    Engine(migrate=True)
    click.echo("database is up to date")


@main.group()
def user():
    """Accounts that sign in to the web app."""


@user.command("add")
@click.argument("name")
@click.argument("groups", nargs=-1)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="asked for when not given")
@click.option("--display-name", help="shown in the web app, e.g. 张三")
@click.option("--admin", is_flag=True)
@click.option("--region", help="the region whose work the person sees, e.g. 湖州市 (default: every region)")
def user_add(name, groups, password, display_name, admin, region):
    """Create the account NAME, in GROUPS (the diagrams' candidate groups and lanes)."""
    e = _engine()
    a = e.accounts.add_user(name, password, display_name=display_name, groups=groups, is_admin=admin,
                            region=region)
    click.echo(f"user {a['name']} ({a['display_name']}): {', '.join(e.tasks.groups_of(name)) or 'no groups'}")


@user.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="asked for when not given")
def user_password(name, password):
    """Set a new password for NAME; every session of NAME ends."""
    _engine().accounts.set_password(name, password)
    click.echo(f"password of {name} changed")


@user.command("signout")
@click.argument("name")
def user_signout(name):
    """Sign NAME out everywhere: every session of the account ends, in every process (强制下线)."""
    _engine().accounts.sign_out_everywhere(name)
    click.echo(f"every session of {name} ended")


@user.command("region")
@click.argument("name")
@click.argument("region", required=False)
def user_region(name, region):
    """Bind NAME to REGION's work (e.g. 湖州市); without REGION: every region again."""
    _engine().accounts.set_region(name, region)
    click.echo(f"{name}: {region or 'every region'}")


@user.command("list")
def user_list():
    """Accounts with their groups."""
    e = _engine()
    for a in e.accounts.list():
        flags = "".join([" admin" if a["is_admin"] else "", "" if a["is_active"] else " disabled",
                         f" region={a['region']}" if a["region"] else ""])
        click.echo(f"{a['name']}\t{a['display_name']}\t{','.join(e.tasks.groups_of(a['name']))}{flags}")


@user.command("unlock")
@click.argument("name")
def user_unlock(name):
    """Lift NAME's sign-in lock (too many failed sign-ins) and forget its failures."""
    was = _engine().accounts.unlock(name)
    click.echo(f"{name} unlocked" if was else f"{name} was not locked (its failures are forgotten)")


# -- issue 16: the security audit -------------------------------------------------------------------
@main.group()
def audit():
    """The security audit (安全审计): list it, verify its hash chain, sweep past the retention."""


def _day(text, what):
    from datetime import datetime
    from qihu.engine.dialect.timers import TIMEZONE
    if text is None:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"{what} 不是日期，应为 YYYY-MM-DD ({what} is not a date: YYYY-MM-DD)")
    return d if d.tzinfo else d.replace(tzinfo=TIMEZONE)


@audit.command("list")
@click.option("--action", help="only this action (signin, deploy, export, personal_data_viewed …)")
@click.option("--actor", help="only this person")
@click.option("--since", help="from this day (YYYY-MM-DD, Beijing time) on")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def audit_list(action, actor, since, limit, as_json):
    """The newest records first."""
    rows = _engine().audit.list(action=action, actor=actor, since=_day(since, "--since"), limit=limit)
    if as_json:
        _out(rows)
        return
    from datetime import datetime
    from qihu.engine.dialect.timers import TIMEZONE
    for r in rows:
        detail = json.dumps(r["detail"], ensure_ascii=False) if r["detail"] is not None else ""
        at = datetime.fromisoformat(r["at"]).astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        click.echo("\t".join([at, r["actor"] or "-", r["client"] or "-",
                              r["action"], r["target"] or "-", detail]))


@audit.command("verify")
def audit_verify():
    """Walk the hash chain; exit 1 naming the first broken link."""
    e = _engine()
    broken = e.audit.verify()
    if broken is not None:
        click.echo(f"审计链断裂 (audit chain broken): {broken}", err=True)
        sys.exit(1)
    newest = e.audit.list(limit=1)
    tail = f"，最新哈希 {newest[0]['hash']}" if newest else ""
    click.echo(f"审计链完整：{e.audit.count()} 条记录{tail} (audit chain intact)")


@audit.command("sweep")
def audit_sweep():
    """Delete records older than the retention (QIHU_AUDIT_RETENTION_DAYS) — the worker does it daily."""
    n = _engine().audit.sweep()
    click.echo(f"已清理 {n} 条超过保存期的审计记录 (removed {n} records past the retention)")


@main.group()
def privacy():
    """个人信息保护: the anonymisation of closed appeals' personal fields (appeals/privacy.py)."""


@privacy.command("anonymise")
@click.option("--dry-run", is_flag=True, help="only list the appeals that are due")
@click.option("--limit", type=int, default=1000, show_default=True)
def privacy_anonymise(dry_run, limit):
    """Anonymise the personal fields of appeals closed longer than QIHU_PRIVACY_ANONYMISE_DAYS ago
    (the worker does it hourly): their contact becomes 已脱敏; the figures are kept."""
    p = _appeals().privacy
    due = p.due_for_anonymising(limit=limit)
    if dry_run:
        for iid in due:
            click.echo(iid)
        click.echo(f"到期待脱敏 {len(due)} 件 ({len(due)} appeals due)")
        return
    n = p.anonymise(limit=limit)
    click.echo(f"已脱敏 {n} 件 (anonymised {n} appeals)")

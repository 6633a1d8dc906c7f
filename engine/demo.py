"""Demo data: every bundled diagram deployed, and a user per role."""
from pathlib import Path

# user -> groups; groups are the candidate groups and lanes of the bundled diagrams
DEMO_USERS = {
    "shouli": ["acceptor", "受理员"],
    "bumen": ["dept_policy", "dept_resource", "dept_approval", "dept_general", "承办部门"],
    "ducha": ["supervisor", "督查室"],
    "admin": ["admin"],
}


def seed(engine, folder):
    """Deploy every .bpmn/.dmn in `folder` (one bundle) and add demo users. Yields report lines."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".bpmn", ".dmn"))
    if files:
        result = engine.repository.deploy(files, name="bundled diagrams", user="demo")
        for d in result.definitions:
            yield f"deployed {d['key']} v{d['version']}" + ("" if d["new"] else " (unchanged)")
    for user, groups in DEMO_USERS.items():
        engine.tasks.add_member(user, *groups)
        yield f"demo user {user}: {', '.join(groups)}"

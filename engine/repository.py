"""Repository: deploy bundles of .bpmn/.dmn files, keep versions, build specs once per version."""
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, func

from .checks import check_bundle
from .errors import NotFound, DeployError, Problem
from .models import Definition, Deployment, MessageStart, Resource
from .parser import parse_bundle


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class DeployResult:
    deployment_id: int
    created: bool                      # False: identical content was already deployed
    definitions: list = field(default_factory=list)   # [{"key", "version", "id", "new"}]


def read_resources(items):
    """Accept paths (files or folders of .bpmn/.dmn) or (name, bytes) pairs."""
    out = []
    for item in items:
        if isinstance(item, tuple):
            name, content = item
            out.append((name, content.encode("utf-8") if isinstance(content, str) else content))
            continue
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".bpmn", ".dmn"))
            if not files:
                raise DeployError([Problem("folder holds no .bpmn or .dmn file", file=str(p))])
            out.extend((f.name, f.read_bytes()) for f in files)
        elif p.is_file():
            out.append((p.name, p.read_bytes()))
        else:
            raise DeployError([Problem("no such file", file=str(p))])
    names = [n for n, _ in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise DeployError([Problem("two files of the bundle have the same name", file=n) for n in sorted(dupes)])
    return out


class _NothingNew(Exception):
    def __init__(self, result):
        self.result = result


class Repository:
    def __init__(self, engine):
        self.engine = engine
        self._bundles = {}       # deployment id -> ParsedBundle
        self._lock = threading.Lock()

    # -- deploy -------------------------------------------------------------------------
    def check(self, items):
        """Parse and check without storing; returns the ParsedBundle or raises DeployError."""
        resources = read_resources(items)
        return parse_bundle(resources, check=lambda b: check_bundle(b, self.engine.handlers))

    def deploy(self, items, name=None, user=None) -> DeployResult:
        resources = read_resources(items)
        bundle = parse_bundle(resources, check=lambda b: check_bundle(b, self.engine.handlers))
        shas = {n: _sha(c) for n, c in resources}
        bundle_sha = _sha("\n".join(f"{n}:{shas[n]}" for n in sorted(shas)).encode())
        dmn_shas = sorted(s for n, s in shas.items() if n.lower().endswith(".dmn"))

        try:
            result = self._store(resources, bundle, shas, bundle_sha, dmn_shas, name, user)
        except _NothingNew as e:
            return e.result
        if result.created:
            with self._lock:
                self._bundles[result.deployment_id] = bundle
        return result

    def _store(self, resources, bundle, shas, bundle_sha, dmn_shas, name, user):
        with self.engine.db.write() as s:
            same = s.scalars(select(Deployment).where(Deployment.sha256 == bundle_sha)).first()
            if same is not None:
                defs = s.scalars(select(Definition).where(Definition.deployment_id == same.id)).all()
                return DeployResult(same.id, False, [self._def_dict(d, False) for d in defs])
            dep = Deployment(name=name or ", ".join(sorted(shas)), sha256=bundle_sha, deployed_by=user)
            s.add(dep)
            s.flush()
            s.add_all(Resource(deployment_id=dep.id, name=n, sha256=shas[n], content=c) for n, c in resources)
            result = DeployResult(dep.id, True)
            created = 0
            for key, info in sorted(bundle.processes.items()):
                # A definition's identity: its own file, the DMN tables and the files of the processes it calls.
                called = sorted({shas[bundle.files[k]] for k in info.subprocess_specs if k in bundle.files})
                sha = _sha("|".join([shas[info.filename], *dmn_shas, *called]).encode())
                latest = s.scalars(select(Definition).where(Definition.key == key)
                                   .order_by(Definition.version.desc()).limit(1)).first()
                if latest is not None and latest.sha256 == sha:
                    result.definitions.append(self._def_dict(latest, False))
                    continue
                d = Definition(key=key, version=(latest.version + 1) if latest else 1, name=info.name,
                               deployment_id=dep.id, resource_name=info.filename, sha256=sha)
                s.add(d)
                s.flush()
                s.add_all(MessageStart(message_name=m, definition_id=d.id) for m in info.message_starts)
                result.definitions.append(self._def_dict(d, True))
                created += 1
            if created == 0:
                # Same definitions, only the bundle differs (e.g. an extra unchanged file): store nothing.
                raise _NothingNew(DeployResult(0, False, result.definitions))
            return result

    @staticmethod
    def _def_dict(d, new):
        return {"id": d.id, "key": d.key, "version": d.version, "name": d.name, "new": new}

    # -- queries -------------------------------------------------------------------------
    def definitions(self, key=None, latest_only=True):
        with self.engine.db.read() as s:
            q = select(Definition)
            if key:
                q = q.where(Definition.key == key)
            if latest_only:
                sub = select(Definition.key, func.max(Definition.version).label("v")).group_by(Definition.key).subquery()
                q = q.join(sub, (Definition.key == sub.c.key) & (Definition.version == sub.c.v))
            rows = s.scalars(q.order_by(Definition.key, Definition.version)).all()
            return [{"id": d.id, "key": d.key, "version": d.version, "name": d.name,
                     "deployment_id": d.deployment_id, "created_at": d.created_at.isoformat()} for d in rows]

    def get_definition(self, session, key, version=None):
        q = select(Definition).where(Definition.key == key)
        q = q.where(Definition.version == version) if version else q.order_by(Definition.version.desc()).limit(1)
        d = session.scalars(q).first()
        if d is None:
            raise NotFound(f"no definition {key!r}" + (f" version {version}" if version else ""))
        return d

    def resources(self, deployment_id):
        with self.engine.db.read() as s:
            rows = s.scalars(select(Resource).where(Resource.deployment_id == deployment_id)).all()
            return [(r.name, r.content) for r in rows]

    def bundle(self, deployment_id):
        """The parsed bundle of a deployment, built once per process from the stored files."""
        b = self._bundles.get(deployment_id)
        if b is None:
            resources = self.resources(deployment_id)
            if not resources:
                raise NotFound(f"no deployment {deployment_id}")
            b = parse_bundle(resources)
            with self._lock:
                self._bundles[deployment_id] = b
        return b

    def process(self, definition):
        """ProcessInfo (spec + subprocess specs) of a Definition row."""
        return self.bundle(definition.deployment_id).processes[definition.key]

// Helper of build.sh. --versions-json: the main packages' versions as JSON (compiled into the
// bundle). --readme META OUT: writes OUT/README.txt (provenance, licences, sha256 of each file).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const MAIN = ['bpmn-js', 'bpmn-js-properties-panel', '@bpmn-io/properties-panel',
  'camunda-bpmn-moddle', 'camunda-bpmn-js-behaviors', 'diagram-js'];

const pkg = (name) => JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));

function packagesOf(meta) {
  // "node_modules/@scope/name/lib/x.js" -> "@scope/name"
  const names = new Set();
  for (const input of Object.keys(meta.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

// The licence text of a bundled package: its LICENSE file; the few without one get what their
// package.json says (licence, author, repository).
function licenceText(name) {
  const dir = join('node_modules', name);
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (file) return readFileSync(join(dir, file), 'utf8').trim();
  const p = pkg(name);
  const author = typeof p.author === 'object' ? p.author.name : p.author;
  const repo = typeof p.repository === 'object' ? p.repository.url : p.repository;
  if (!p.license) throw new Error(`${dir}: no licence file and no licence in package.json`);
  return `(the package ships no licence file) package.json: license ${p.license}, author ${author || '-'}, ` +
    `repository ${repo || '-'}`;
}

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function readme(metaPath, out) {
  const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  const names = packagesOf(meta);
  const bundled = names.map((n) => `${n} ${pkg(n).version} (${pkg(n).license})`);
  writeFileSync(join(out, 'THIRD-PARTY-LICENSES.txt'), names.map((n) =>
    `${'='.repeat(78)}\n${n} ${pkg(n).version}\n${'='.repeat(78)}\n\n${licenceText(n)}\n`).join('\n'));
  const sums = files(out).filter((f) => !f.endsWith('README.txt')).sort()
    .map((f) => `  ${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${relative(out, f)}`);
  const integrity = MAIN.map((n) => `  ${n}@${pkg(n).version}  ${lock.packages['node_modules/' + n].integrity}`);
  const text = `qihu modeler assets (bpmn-js ${pkg('bpmn-js').version} Modeler + properties panel + Camunda 7 moddle)
=====================================================================================

Built by web/frontend/build.sh from web/frontend/package-lock.json (esbuild ${pkg('esbuild').version});
used by the modeler page (/admin/modeler/..., web/modeler_page.py, web/static/modeler.js).
The app, the tests and CI use these committed files and never run npm.

  qihu-modeler.min.js      <- web/frontend/src/modeler.js bundled with its dependencies, minified:
                              one IIFE, window.QihuModeler = { create({container, propertiesParent, lang}), versions };
                              lang 'zh-CN' (default) or 'en': the palette, menus and properties panel in
                              Chinese come from web/frontend/src/zh-cn.js (src/translate.js, the translate service)
  diagram-js.css           <- bpmn-js/dist/assets/diagram-js.css (unchanged)
  bpmn-js.css              <- bpmn-js/dist/assets/bpmn-js.css (unchanged)
  properties-panel.css     <- @bpmn-io/properties-panel/dist/assets/properties-panel.css (unchanged)
  bpmn-font/css/bpmn.css   <- bpmn-js/dist/assets/bpmn-font/css/bpmn.css (unchanged; the palette's icons)
  bpmn-font/font/bpmn.woff2, bpmn.woff <- bpmn-js/dist/assets/bpmn-font/font/ (the css also names
                              .eot/.ttf/.svg for old browsers; those are not shipped)
  THIRD-PARTY-LICENSES.txt <- the LICENSE file of every package in the bundle

Main packages (npm integrity from the lock file):
${integrity.join('\n')}

sha256:
${sums.join('\n')}

To rebuild or upgrade: edit the versions in web/frontend/package.json (exact versions), run
\`cd web/frontend && npm install\` to update the lock file, then \`sh web/frontend/build.sh\`
(it runs \`npm ci\`, bundles, copies the css and fonts, writes THIRD-PARTY-LICENSES.txt and this file), run
tests/browser/test_browser_modeler.py, and commit package.json, package-lock.json and this folder.
node_modules/ stays out of git (web/frontend/.gitignore).

Licences (full texts in THIRD-PARTY-LICENSES.txt): bpmn-js is under the bpmn.io licence
(MIT-style): the bpmn.io watermark drawn in the diagram's corner must stay visible, and the
page keeps it. The other packages are under the licences named below; the licence comments
found in their code are kept at the end of qihu-modeler.min.js. Bundled packages:
${bundled.map((b) => '  ' + b).join('\n')}
`;
  writeFileSync(join(out, 'README.txt'), text);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === '--versions-json') {
  process.stdout.write(JSON.stringify(Object.fromEntries(MAIN.map((n) => [n, pkg(n).version]))));
} else if (mode === '--readme') {
  readme(...args);
} else {
  console.error('usage: write-readme.mjs --versions-json | --readme META OUT');
  process.exit(2);
}

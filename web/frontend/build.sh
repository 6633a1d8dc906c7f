#!/bin/sh
# Rebuilds web/static/vendor/modeler/ (the modeler page's bundle, css and fonts) from
# package-lock.json. Only whoever upgrades the modeler runs this; the app, the tests and CI
# use the committed files and never need npm. Needs Node.js >= 18 and the npm registry.
#
#   sh web/frontend/build.sh        # then commit web/static/vendor/modeler/ and the lock file
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund

FINAL=../static/vendor/modeler
OUT=../static/vendor/modeler.new      # built aside, swapped in at the end: a failed build changes nothing
NM=node_modules
rm -rf "$OUT"
mkdir -p "$OUT/bpmn-font/css" "$OUT/bpmn-font/font"

# One self-contained, minified IIFE (window.QihuModeler); the versions of the main packages
# are compiled in so the page can show them. Licence comments of the packages go to the end.
node_modules/.bin/esbuild src/modeler.js --bundle --format=iife --global-name=QihuModeler \
  --minify --target=es2019 --legal-comments=eof --log-level=warning \
  --define:process.env.NODE_ENV='"production"' \
  --define:__QIHU_VERSIONS__="$(node write-readme.mjs --versions-json)" \
  --metafile=build-meta.json --outfile="$OUT/qihu-modeler.min.js"

# Stylesheets and the palette's icon font, copied unchanged.
cp "$NM/bpmn-js/dist/assets/diagram-js.css" "$NM/bpmn-js/dist/assets/bpmn-js.css" "$OUT/"
cp "$NM/@bpmn-io/properties-panel/dist/assets/properties-panel.css" "$OUT/"
cp "$NM/bpmn-js/dist/assets/bpmn-font/css/bpmn.css" "$OUT/bpmn-font/css/"
# bpmn.css also names .eot/.ttf/.svg for old browsers; every supported browser takes woff2.
cp "$NM/bpmn-js/dist/assets/bpmn-font/font/bpmn.woff2" "$NM/bpmn-js/dist/assets/bpmn-font/font/bpmn.woff" \
   "$OUT/bpmn-font/font/"

# README.txt (versions, licences, sha256 of each file) and THIRD-PARTY-LICENSES.txt, from the metafile.
node write-readme.mjs --readme build-meta.json "$OUT"
rm -f build-meta.json
rm -rf "$FINAL" && mv "$OUT" "$FINAL"
echo "built $FINAL"

#!/usr/bin/env bash
# Re-fetch the KaTeX files the docs serve (docs/assets/katex/), from the npm package.
#
#   bash docs/assets/update_katex.sh            # the pinned version below
#   bash docs/assets/update_katex.sh 0.19.2     # another version (then update the pin)
#
# The site typesets its math offline: mkdocs.yml loads these files from the site
# itself, never from a CDN. Only what a modern browser needs is kept: the minified
# script and stylesheet, the woff2 fonts (the stylesheet is rewritten to name only
# those), and the license. Needs npm, tar and sed.
set -euo pipefail
VERSION="${1:-0.19.1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
DEST="$HERE/katex"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "katex@$VERSION" >/dev/null && tar xzf "katex-$VERSION.tgz")
DIST="$WORK/package/dist"
rm -rf "$DEST"
mkdir -p "$DEST/fonts"
cp "$DIST/katex.min.js" "$DEST/"
cp "$WORK/package/LICENSE" "$DEST/LICENSE"
cp "$DIST"/fonts/*.woff2 "$DEST/fonts/"
# Each @font-face lists woff2, woff and ttf; keep the woff2 source only, so the
# stylesheet names no file that is not shipped.
sed -E 's/(url\(fonts\/[A-Za-z0-9_-]+\.woff2\) format\("woff2"\)),url\([^)]*\.woff\) format\("woff"\),url\([^)]*\.ttf\) format\("truetype"\)/\1/g' \
    "$DIST/katex.min.css" > "$DEST/katex.min.css"
if grep -Eq '\.(woff|ttf)\)' "$DEST/katex.min.css"; then
    echo "update_katex.sh: the stylesheet still names woff/ttf fonts; the sed pattern needs updating" >&2
    exit 1
fi
echo "$VERSION" > "$DEST/VERSION"
echo "KaTeX $VERSION -> $DEST ($(du -sh "$DEST" | cut -f1))"

#!/usr/bin/env bash
# Renders deploy/kubernetes (or DIR) as one multi-document YAML on stdout (issue 19): with
# `kubectl kustomize` when kubectl is installed, otherwise by concatenating the files listed
# under `resources:` in kustomization.yaml, in order. The fallback ignores kustomize's
# transformations (namespace, images): the manifests already name namespace `bearing` and
# image `bearing:latest`, so the schemas see the same objects either way.
# Usage: scripts/render-kustomization.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-deploy/kubernetes}
if command -v kubectl >/dev/null 2>&1; then
    exec kubectl kustomize "$DIR"
fi
in_resources=0
while IFS= read -r line; do
    case "$line" in
        resources:*) in_resources=1 ;;
        "  - "*)
            if ((in_resources)); then
                f=${line#  - }
                f=${f%%#*}
                f=${f%"${f##*[![:space:]]}"}
                echo "---"
                cat "$DIR/$f"
            fi
            ;;
        [a-z]*) in_resources=0 ;;
    esac
done <"$DIR/kustomization.yaml"

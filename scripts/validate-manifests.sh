#!/usr/bin/env bash
# Checks the rendered kustomization of deploy/kubernetes against Kubernetes' own OpenAPI
# schemas (issue 19) with kubernetes-validate --strict (unknown fields are errors), for the
# oldest version the manifests claim (1.29: backoffLimitPerIndex of the Indexed Job) and the
# newest the installed kubernetes-validate knows. Offline: kubernetes-validate ships the
# schemas. Needs: pip install kubernetes-validate.
set -euo pipefail
cd "$(dirname "$0")/.."
OLDEST=1.29.0
NEWEST=$(python3 -c "import kubernetes_validate.utils as u; print(u.latest_version())")
RENDERED=$(mktemp --suffix=.yaml)
trap 'rm -f "$RENDERED"' EXIT
scripts/render-kustomization.sh >"$RENDERED"
for v in "$OLDEST" "$NEWEST"; do
    echo "== kubernetes-validate --strict -k $v (deploy/kubernetes, rendered)"
    kubernetes-validate --strict --quiet -k "$v" "$RENDERED"
done

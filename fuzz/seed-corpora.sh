#!/bin/bash
# Writes the fuzz targets' seed corpora into fuzz/corpus/<target>/ from the repo's own golden
# trees, fixtures and examples (plus a few inputs written here), so seeds are generated, never
# committed. Usage: fuzz/seed-corpora.sh   (from anywhere; existing corpus files are kept)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=$repo/fuzz/corpus
mkdir -p "$corpus"/{unit_syntax,generator,kube_plan,compose}

# name of a seed file: the content's hash, as libFuzzer names its own.
put() { # target < content
    local tmp; tmp=$(mktemp)
    cat >"$tmp"
    mv "$tmp" "$corpus/$1/$(sha1sum <"$tmp" | cut -c1-40)"
}

kinds='container|volume|network|kube|pod|image|build|artifact'
mapfile -t units < <(find "$repo/tests/golden" -path '*/input/*' -type f | grep -E "\.($kinds|conf)\$")
mapfile -t services < <(find "$repo/tests/golden" -path '*/expected/*' -type f -name '*.service')

# unit_syntax: unit files, drop-ins, generated services; their Exec lines prefixed with `!`.
for f in "${units[@]}" "${services[@]}" "$repo/examples/hello.kube"; do
    put unit_syntax <"$f"
done
for f in "${services[@]}"; do
    grep -E '^Exec[A-Za-z]*=' "$f" | head -3 | while IFS= read -r line; do
        printf '!%s' "${line#*=}" | put unit_syntax
    done
done
printf '![ "a b" c\\\\ "\\x85" '\''q'\'' \\u00e9 %%n $X ]' | put unit_syntax
printf '[Container]\nImage=busybox\nExec=sh -c "echo \\\\\n[Service]\nEnvironment=A=1\\\\\\\\\n' | put unit_syntax

# generator: `KIND NAME [user]`, the unit, then the first drop-in next to it (if any).
i=0
for f in "${units[@]}"; do
    base=$(basename "$f")
    kind=${base##*.}
    [ "$kind" = conf ] && continue
    name=${base%.*}
    user=""; [ $((i % 2)) = 1 ] && user=" user"; i=$((i + 1))
    dropin=$(find "$f.d" -name "*.conf" -type f 2>/dev/null | sort | head -1 || true)
    { printf '%s %s%s\n' "$kind" "$name" "$user"; cat "$f"
      if [ -n "$dropin" ]; then printf '\n--- dropin ---\n'; cat "$dropin"; fi; } | put generator
done
printf 'container web\n[Container]\nImage=busybox\n[Install]\nWantedBy=default.target\nDefaultInstance=x\n\n--- dropin ---\n[Container]\nEnvironment=A=b\\\\\n' | put generator
printf 'container tpl@\n[Container]\nImage=busybox\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=../../../../escape\n' | put generator
printf 'kube app\n[Kube]\nYaml=app.yaml\nPublishPort=8080:80\n[Service]\nServiceName=../x\n\n--- dropin ---\n[Install]\nAlias=../y.service\n' | put generator

# kube_plan: the repo's Kubernetes YAML, plus Secrets carrying the marker (tests/props/kube.rs).
for f in "$repo"/tests/fixtures/kube/*.yaml "$repo"/examples/hello.yaml; do
    put kube_plan <"$f"
done
find "$repo/tests/golden" -path '*/input/*' -name '*.yaml' -type f | while read -r f; do put kube_plan <"$f"; done
marker=qpSECRETx7
b64=$(printf '%s-b64' "$marker" | base64 -w0)
cat <<YAML | put kube_plan
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: $marker-plain
data:
  token: $b64
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: localhost/busybox:latest
          env:
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: db, key: password}}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: db, key: nokey}}
          envFrom: [{secretRef: {name: db}}]
          volumeMounts: [{name: s, mountPath: /run/s}]
      volumes:
        - name: s
          secret: {secretName: db, items: [{key: token, path: t}]}
YAML
printf 'kind: Secret\napiVersion: v1\nmetadata: {name: s}\ndata: %s-scalar\n---\nkind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n' "$marker" | put kube_plan
printf 'kind: Secret\napiVersion: v1\nmetadata: {name: s}\nstringData: [%s-in-a-list]\ndata: {k: "%s not base64"}\n' "$marker" "$marker" | put kube_plan

# compose: the example, plus files written here with anchors, extends, profiles, secrets.
put compose <"$repo/examples/compose.yaml"
find "$repo/tests/compose_oracle/corpus" "$repo/tests/bad_input/convert" "$repo/examples/vendor" \
    -name '*.y*ml' -type f | while read -r f; do put compose <"$f"; done
cat <<'YAML' | put compose
name: shop
x-common: &common
  image: localhost/busybox:latest
  restart: unless-stopped
  environment: &env
    TZ: UTC
services:
  db:
    <<: *common
    command: ["httpd", "-f", "-p", "5432"]
    volumes: ["dbdata:/var/lib/db", "./init.sql:/docker-entrypoint-initdb.d/init.sql:ro"]
    secrets: [dbpass]
  web:
    <<: *common
    environment:
      <<: *env
      DB_HOST: db
    ports: ["127.0.0.1:8080:80", "8443:443/tcp"]
    depends_on: {db: {condition: service_started}}
    deploy: {replicas: 2, resources: {limits: {memory: 64M, cpus: "0.5"}}}
  debug:
    extends: {service: web}
    profiles: [debug]
volumes:
  dbdata: {}
secrets:
  dbpass: {file: ./dbpass.txt}
YAML
printf 'services:\n  a-b: {image: busybox}\n  a_b: {image: busybox}\n  A-B: {image: busybox}\n  "!!!": {image: busybox}\n' | put compose
printf 'services:\n  w:\n    image: busybox\n    volumes: ["/srv:/a:b:ro"]\n    deploy: {replicas: 1000000000}\n' | put compose
# compose secrets whose content carries the marker (tests/props/compose.rs), well and badly formed.
printf 'services:\n  web:\n    image: busybox\n    secrets: [pw, {source: pw, target: /run/pw, mode: 0400}]\nsecrets:\n  pw:\n    content: "%s-content"\n' "$marker" | put compose
printf 'services:\n  web: {image: busybox, secrets: [{source: pw, mode: "x", uid: "1"}]}\nsecrets:\n  pw: {content: "%s", file: [x], bogus: 1}\n' "$marker" | put compose
echo "seeded: $(for t in unit_syntax generator kube_plan compose; do printf '%s=%s ' "$t" "$(ls "$corpus/$t" | wc -l)"; done)"

#!/usr/bin/env bash
# The one test command (npm test): provisions the real servers and clients the tests need,
# then type-checks, lints, and runs unit and integration tests in one node test run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/provision.sh

[ -d node_modules ] || npm install --no-audit --no-fund

echo "== type-check"
npx tsc --noEmit -p .
echo "== lint"
npx biome check --error-on-warnings .
echo "== tests"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"

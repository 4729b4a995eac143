#!/usr/bin/env bash
# The team workflow for dependency Cartridges, for a CI job that runs when go.mod, go.sum or a lock file
# changes: pull what the registry has, train what it lacks, push it back. Editors then `cartlsp deps
# pull` by module@version instead of training.
#
#   scripts/deps-ci.sh REGISTRY [I/N]
#
# REGISTRY  HOST/REPOSITORY (docker credentials: `docker login` or $DOCKER_CONFIG), or dir:PATH
# I/N       this job's shard of a matrix of N (default 1/1): `deps train --shard` splits the list
#           deterministically, so N jobs train disjoint parts that together cover it
# Env: BIN (default cartlsp), TOP (train the TOP most used dependencies instead of every resolved one),
#      BUDGET (default small; it is part of the recipe, so editors must pull with the same),
#      MODEL (default: the default model), PLAIN_HTTP=1 for a registry without TLS,
#      CARTLSP_DEPS_SIGN_KEY (+ COSIGN_PASSWORD for cosign's encrypted keys) signs what is pushed,
#      CARTLSP_DEPS_VERIFY_KEY makes the pull accept only Cartridges signed by that public key.
#
# A GitHub Actions matrix, for example:
#   strategy: { matrix: { shard: [1, 2, 3, 4] } }
#   steps:
#     - uses: actions/checkout@v4
#     - run: echo "$TOKEN" | docker login ghcr.io -u "$USER" --password-stdin
#     - run: scripts/deps-ci.sh ghcr.io/team/cartridges ${{ matrix.shard }}/4
set -euo pipefail
BIN=${BIN:-cartlsp}
reg=${1:?usage: deps-ci.sh REGISTRY [I/N]}
shard=${2:-1/1}
flags=(--budget "${BUDGET:-small}")
[ -z "${MODEL:-}" ] || flags+=(--model "$MODEL")
[ -z "${PLAIN_HTTP:-}" ] || flags+=(--plain-http)
select=(--all)
[ -z "${TOP:-}" ] || select=(--top "$TOP")

[ -f "${MODEL:-}" ] || "$BIN" model pull ${MODEL:+"$MODEL"}
"$BIN" deps ls "${flags[@]}" --registry "$reg"
"$BIN" deps pull "${flags[@]}" --registry "$reg"
"$BIN" deps train "${flags[@]}" "${select[@]}" --shard "$shard" --quiet
"$BIN" deps push "${flags[@]}" --registry "$reg"

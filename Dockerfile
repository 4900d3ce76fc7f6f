# xyn-migrate: the PostgreSQL migration job as a small image. Needs BuildKit (RUN --mount):
# Docker 23+ uses it by default; Docker 20.10 with DOCKER_BUILDKIT=1. Its built-in Dockerfile
# frontend is enough: no `# syntax=` line, so no frontend image is pulled at build time.
#
#   DOCKER_BUILDKIT=1 docker build -t ghcr.io/xyn/xyn-migrate:0.1.0 --build-arg VERSION=0.1.0 .
#   docker run --rm --read-only -e DATABASE_URL=... ghcr.io/xyn/xyn-migrate:0.1.0
#
# VERSION must be package.json's version (the build checks it): the label and `--version` are
# the same number. Registry settings for `npm ci` (a mirror, a token, a CA), without editing this
# file: two optional BuildKit secrets, seen by `npm ci` only and never stored in a layer:
#
#   --secret id=npmrc,src=$HOME/.npmrc      npm's user config (registry=…, //host/:_authToken=…)
#   --secret id=npm-ca,src=company-ca.pem   a CA bundle at /run/secrets/npm-ca, for a registry
#                                           behind a TLS proxy; the npmrc says cafile=/run/secrets/npm-ca
#
# Base images are pinned by tag here. Their digests are NOT pinned in this file: no registry
# could be reached where this file was written, and a digest we cannot check would only look
# safe. The release pipeline should pin both FROM lines by digest (`name:tag@sha256:...`, e.g.
# with `docker buildx imagetools inspect` or Renovate's pinDigests) when it builds a release.

# ---------------------------------------------------------------------------------------------
# Build stage: install the locked dependencies and bundle the program into one file,
# dist/cli.js (esbuild; no node_modules is needed at run time). The bundle is plain
# JavaScript, so this stage runs on the build machine's own platform for every target.
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
WORKDIR /app
ENV NODE_ENV=development \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
# Only what build.mjs needs: esbuild and the packages it bundles, at the versions of
# package-lock.json (build-deps.mjs narrows package.json to them; npm ci then installs those
# alone, not the test tools). --ignore-scripts: no install script of any dependency runs here
# (esbuild finds its binary through its optional platform package without one).
# npm 10 can print "Exit handler never called!" and exit 0 after a failed install: `npm ls`
# checks the result in the same step, so a failed install fails here, saying what is missing.
COPY package.json package-lock.json build-deps.mjs ./
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=npmrc \
    --mount=type=secret,id=npm-ca \
    node build-deps.mjs \
 && NPM_CONFIG_USERCONFIG=/run/secrets/npmrc npm ci --ignore-scripts \
 && npm ls --all > /dev/null \
 || { echo "installing the build dependencies failed (see above)" >&2; exit 1; }
COPY build.mjs tsconfig.json ./
COPY src/ ./src/
# The image's version is package.json's: --version prints it, and the label takes VERSION only
# once the build checked that it is the same.
ARG VERSION
RUN npm run build \
 && built="$(node dist/cli.js --version)" \
 && if [ "$built" != "$VERSION" ]; then \
      echo "--build-arg VERSION=${VERSION} is not package.json's version: build with --build-arg VERSION=${built}" >&2; exit 1; \
    fi

# ---------------------------------------------------------------------------------------------
# Runtime stage: distroless Node.js 20 — node and its libraries only; no shell, no npm, no
# package manager. The :nonroot variant already runs as uid 65532; USER below says so again,
# numerically, so that Kubernetes' runAsNonRoot can verify it.
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime

ARG VERSION
LABEL org.opencontainers.image.title="xyn-migrate" \
      org.opencontainers.image.description="PostgreSQL migration job for containers: wait, lock, apply plain SQL files exactly once, verify, exit." \
      org.opencontainers.image.source="https://github.com/xyn/xyn-migrate" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# The one bundled file, and the migrations: the .sql files only (a volume or ConfigMap mounted
# at /migrations replaces them). Both are owned by root and read-only for the runtime user.
COPY --from=build /app/dist/cli.js /app/cli.js
COPY migrations/*.sql /migrations/

# V8's code cache of the program (/app/cli.js.cache; see src/start.ts), made here by this
# image's own node: a cache made by another V8 (the build stage's node may be another patch
# release) would be rejected and only cost time. One training run as root writes it and records
# its digest in /app/cli.js (a cache without that digest is never used); an ARG,
# unlike an ENV, does not stay in the image, so no later run writes anything. Exec form: there
# is no shell here. This is the one step that runs on the target platform: a multi-platform
# build runs it under emulation (binfmt/QEMU, as `docker buildx` sets it up).
ARG XYN_CODE_CACHE_OUT=/app/cli.js.cache
USER 0:0
RUN ["/nodejs/bin/node", "/app/cli.js", "--version"]

# Nothing is written at run time except the Kubernetes termination message
# (/dev/termination-log, only where it exists), so `--read-only` / readOnlyRootFilesystem works.
# TZ: distroless has no /etc/localtime, so without TZ the first local-time lookup scans all of
# /usr/share/zoneinfo for a match, tens of milliseconds of every start. Logs and the ledger are UTC.
ENV NODE_ENV=production \
    TZ=UTC \
    XYN_MIGRATIONS_DIR=/migrations

USER 65532:65532

# Node is PID 1 and handles SIGTERM/SIGINT itself: the running migration is cancelled and
# rolled back, the lock released, exit 143/130.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.js"]
CMD ["migrate"]

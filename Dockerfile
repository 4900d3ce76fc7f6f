# syntax=docker/dockerfile:1
#
# xyn-migrate: the PostgreSQL migration job as a small image.
#
#   docker build -t ghcr.io/xyn/xyn-migrate:0.1.0 --build-arg VERSION=0.1.0 .
#   docker run --rm --read-only -e DATABASE_URL=... ghcr.io/xyn/xyn-migrate:0.1.0
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
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of any dependency runs here (esbuild finds its binary
# through its optional platform package without one).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts
COPY build.mjs tsconfig.json ./
COPY src/ ./src/
RUN npm run build \
 && node dist/cli.js --version

# ---------------------------------------------------------------------------------------------
# Runtime stage: distroless Node.js 20 — node and its libraries only; no shell, no npm, no
# package manager. The :nonroot variant already runs as uid 65532; USER below says so again,
# numerically, so that Kubernetes' runAsNonRoot can verify it.
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="xyn-migrate" \
      org.opencontainers.image.description="PostgreSQL migration job for containers: wait, lock, apply plain SQL files exactly once, verify, exit." \
      org.opencontainers.image.source="https://github.com/xyn/xyn-migrate" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# The one bundled file, and the migrations (a volume or ConfigMap mounted at /migrations
# replaces them). Both are owned by root and read-only for the runtime user.
COPY --from=build /app/dist/cli.js /app/cli.js
COPY migrations/ /migrations/

# V8's code cache of the program (/app/cli.js.cache; see src/start.ts), made here by this
# image's own node: a cache made by another V8 (the build stage's node may be another patch
# release) would be rejected and only cost time. One training run as root writes it; an ARG,
# unlike an ENV, does not stay in the image, so no later run writes anything. Exec form: there
# is no shell here. This is the one step that runs on the target platform: a multi-platform
# build runs it under emulation (binfmt/QEMU, as `docker buildx` sets it up).
ARG XYN_CODE_CACHE_OUT=/app/cli.js.cache
USER 0:0
RUN ["/nodejs/bin/node", "/app/cli.js", "--version"]

# Nothing is written at run time except the Kubernetes termination message
# (/dev/termination-log, only where it exists), so `--read-only` / readOnlyRootFilesystem works.
ENV NODE_ENV=production \
    XYN_MIGRATIONS_DIR=/migrations

USER 65532:65532

# Node is PID 1 and handles SIGTERM/SIGINT itself: the running migration is cancelled and
# rolled back, the lock released, exit 143/130.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.js"]
CMD ["migrate"]

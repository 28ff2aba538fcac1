# OpenCTI VirusTotal Livehunt connector (Temporal edition).
#
#   docker build -t opencti-virustotal-livehunt-temporal .
#
# One image, two roles, chosen by the command:
#   worker  (default): docker run ... IMAGE                                  -> node dist/worker/main.js
#   starter          : docker run ... IMAGE node dist/starter/main.js
# `npm start` (both roles plus an embedded Temporal dev server) is for a laptop, not for containers.
#
# glibc base on purpose: the Temporal SDK's native core bridge ships prebuilt binaries for
# glibc Linux only, so an alpine (musl) image cannot load it. Node 24 is the current LTS.
#
# test/e2e/runtime-image.test.ts lays out what the runtime stage below contains and runs its CMD
# (and the compose file's starter command) as a non-root user: keep the two in step.

# ---------------------------------------------------------------------------------------------
# Build stage: development dependencies, TypeScript compiled to dist/, workflows bundled once.
FROM node:24-bookworm-slim AS build

WORKDIR /app

# Install scripts are skipped: the core bridge, esbuild and swc come prebuilt, as per-platform
# packages the lockfile already records.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# One COPY per folder: `COPY a b ./` would merge the folders' contents.
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY activities ./activities
COPY common ./common
COPY config ./config
COPY domain ./domain
COPY starter ./starter
COPY temporal ./temporal
COPY worker ./worker
COPY workflows ./workflows
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Runtime stage: production dependencies, the compiled code and the workflow bundle; no
# TypeScript, no tsx, no sources.
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# The core bridge carries prebuilt binaries for every OS; only the Linux ones (x86_64 and
# aarch64) can ever load here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts \
    && npm cache clean --force \
    && rm -rf node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
              node_modules/@temporalio/core-bridge/releases/*-windows-*

# dist/ holds the compiled roles and dist/workflow-bundle.js, which the compiled worker loads
# instead of bundling workflows/ at every start.
COPY --from=build /app/dist ./dist

# Files stay root-owned (read-only to the process); the connector writes nothing in a container
# (its state lives in Temporal and in OpenCTI). The official image's `node` user is uid 1000.
USER node

# No HEALTHCHECK: neither role serves HTTP, and a process check adds nothing to Docker's own
# restart policy. Both roles exit non-zero when they cannot run, so `restart: always` recovers.
# Exec form, node itself: SIGTERM from `docker stop` reaches the connector with no shell or npm
# in between, so the worker drains its tasks and the starter saves its stream position.
CMD ["node", "dist/worker/main.js"]

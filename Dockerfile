# OpenCTI VirusTotal Livehunt connector (Temporal edition).
#
# One image, two roles:
#   worker  (default): docker run ... IMAGE                       -> npm run worker
#   starter          : docker run ... IMAGE npm run starter       -> npm run starter
# `npm start` (both roles plus an embedded Temporal dev server) is for a laptop, not for containers.
#
# glibc base on purpose: the Temporal SDK's native core bridge ships prebuilt binaries for
# glibc Linux only, so an alpine (musl) image cannot load it.
FROM node:20-bookworm-slim

# NPM_CONFIG_SCRIPT_SHELL: npm runs a script as `<shell> -c "tsx worker/main.ts"`. Debian's sh
# (dash) forks and stays in between, swallowing the SIGTERM of `docker stop`, so the process
# would be killed without draining. bash execs a lone command, so the signal reaches the
# connector and it shuts down cleanly (workers finish in-flight tasks, the starter saves its
# stream position).
ENV NODE_ENV=production \
    NPM_CONFIG_SCRIPT_SHELL=/bin/bash \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. Install scripts are skipped:
# nothing the runtime needs relies on them (the core bridge, esbuild and swc come prebuilt, as
# per-platform packages the lockfile already records). The core bridge carries prebuilt binaries
# for every OS; only the Linux ones (x86_64 and aarch64) can ever load here.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts \
    && npm cache clean --force \
    && rm -rf node_modules/@temporalio/core-bridge/releases/*-apple-darwin \
              node_modules/@temporalio/core-bridge/releases/*-windows-*

# The sources, run as TypeScript by tsx (a runtime dependency). The worker bundles workflows/ at
# start-up. One COPY per folder: `COPY a b ./` would merge the folders' contents.
COPY tsconfig.json ./
COPY app ./app
COPY activities ./activities
COPY common ./common
COPY config ./config
COPY domain ./domain
COPY starter ./starter
COPY temporal ./temporal
COPY worker ./worker
COPY workflows ./workflows

# Files stay root-owned (read-only to the process); the connector writes nothing in a container
# (its state lives in Temporal and in OpenCTI), tsx caches under /tmp.
USER node

# No HEALTHCHECK: neither role serves HTTP, and a process check adds nothing to Docker's own
# restart policy. Both roles exit non-zero when they cannot run, so `restart: always` recovers.
CMD ["npm", "run", "worker"]

# Porchlight on the official Node-RED image, built from this checkout (no registry entry needed).
#
#   docker compose up -d --build     # see docker-compose.yml for the devices, limits and volume
#   open http://<host>:1880/         # then Import > Examples > @porchlight/node-red-doorbell
#
# Stage 1 compiles the TypeScript and packs the package exactly as `npm pack`
# would publish it; stage 2 installs that tarball into Node-RED the way the
# palette manager does (npm install --omit=dev), with Dashboard 2.0 beside it.
# The Debian flavour of the image on purpose: glibc for the native modules
# (sharp, better-sqlite3, the optional onnxruntime-node), and Debian's `gpiod`
# tools and ffmpeg.
ARG NODE_VERSION=20
ARG NODE_RED_TAG=latest-debian

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
# Only the compiler is needed here: no install scripts (no native builds, no onnxruntime-node download).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY lib ./lib
COPY nodes ./nodes
COPY cli ./cli
COPY scripts ./scripts
COPY flows ./flows
COPY icons ./icons
COPY examples ./examples
COPY models ./models
COPY docs ./docs
COPY README.md LICENSE ./
RUN npx tsc -p . && node dist/scripts/copy-assets.js && node dist/scripts/build-examples.js \
 && npm pack --ignore-scripts --pack-destination /out

FROM nodered/node-red:${NODE_RED_TAG}
# gpiomon (GPIO character device backend of gpio-doorbell) and ffmpeg (RTSP / USB camera sources).
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends gpiod ffmpeg \
 && rm -rf /var/lib/apt/lists/*
USER node-red
# glibc's malloc otherwise keeps one arena per thread: resident memory settles ~80 MB higher (docs/RELIABILITY.md).
ENV MALLOC_ARENA_MAX=2
COPY --from=build --chown=node-red /out/ /tmp/porchlight/
# The palette manager's install (into the image's Node-RED, so the /data volume stays the user's own).
RUN npm install --omit=dev --no-audit --no-fund --save=false /tmp/porchlight/porchlight-node-red-doorbell-*.tgz @flowfuse/node-red-dashboard \
 && rm -rf /tmp/porchlight
# Healthy while /porchlight/health says ok; with adminAuth on it answers 401 to an anonymous
# check, which is taken as "up" (the process serves its admin API).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:1880/porchlight/health').then(async (r) => process.exit(r.status === 401 || (r.ok && (await r.json()).ok) ? 0 : 1), () => process.exit(1))"

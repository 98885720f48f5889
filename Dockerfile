# Porchlight on the official Node-RED image.
#
#   docker compose up -d            # see docker-compose.yml for the device mappings
#   open http://<host>:1880/        # then Import > Examples > @porchlight/node-red-doorbell
#
# The Debian flavour of the image is used on purpose: onnxruntime-node (the fast
# engine) ships glibc binaries only, and Debian has the `gpiod` tools and ffmpeg.
# To install a local build instead of the registry's release:
#   npm pack && docker build --build-arg PORCHLIGHT_PACKAGE=/tmp/porchlight/porchlight-node-red-doorbell-0.1.0.tgz .
ARG NODE_RED_TAG=latest-debian
FROM nodered/node-red:${NODE_RED_TAG}

# gpiomon (GPIO character device backend of gpio-doorbell) and ffmpeg (RTSP / USB camera sources).
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends gpiod ffmpeg \
 && rm -rf /var/lib/apt/lists/*
USER node-red

# package.json is always there, so this COPY works with or without a local tarball beside it.
COPY package.json porchlight-node-red-doorbell-*.tgz* /tmp/porchlight/
ARG PORCHLIGHT_PACKAGE=@porchlight/node-red-doorbell
# No CUDA download at install (the CPU build of onnxruntime-node is in its npm package).
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm install --omit=dev --no-audit --no-fund "${PORCHLIGHT_PACKAGE}" @flowfuse/node-red-dashboard

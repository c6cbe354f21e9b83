# ws2otel container image. Build: docker build -t ws2otel .
# Run:   docker run -v ./config.yaml:/etc/ws2otel/config.yaml:ro -v ws2otel-data:/var/lib/ws2otel \
#          -v ./secrets:/etc/ws2otel/secrets:ro -p 8686:8686 ws2otel
# See deploy/README.md. The base is pinned by tag; pin it by digest too (NODE_IMAGE=node:…@sha256:…)
# where the registry is reachable.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: dependencies with their install scripts, the compile, then production modules only ---
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts then `npm rebuild`: the dependencies' install scripts run (zstd-napi fetches its
# prebuilt binding, or compiles where a toolchain is), our own `prepare` does not (no src/ yet). This
# layer survives edits to src/.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild
COPY tsconfig.json ./
COPY src ./src
# What the runtime stage copies: dist/src, and node_modules without devDependencies or the sources and
# objects zstd-napi's binding was built from.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/zstd-napi/deps node_modules/zstd-napi/src node_modules/zstd-napi/build/Release/obj.target \
           node_modules/zstd-napi/build/Release/*.a \
 && npm cache clean --force

# --- runtime: node, the compiled daemon, its production node_modules; runs as uid 10001 ---
FROM ${NODE_IMAGE}
RUN groupadd --system --gid 10001 ws2otel \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/ws2otel --no-create-home --shell /usr/sbin/nologin ws2otel \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ws2otel \
 && install -d -m 0755 /etc/ws2otel /etc/ws2otel/secrets
WORKDIR /app
COPY package.json ./
COPY config ./config
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src

# Inside a container the listener must face the pod/bridge network, not loopback. These variables
# override the config file's http.address and data_dir.
ENV NODE_ENV=production \
    WS2OTEL_HTTP_ADDRESS=0.0.0.0:8686 \
    WS2OTEL_DATA_DIR=/var/lib/ws2otel

USER 10001:10001
# Disk buffers and dead-letter files: mount a volume here so they survive the container.
VOLUME ["/var/lib/ws2otel"]
EXPOSE 8686

# /healthz on the port of WS2OTEL_HTTP_ADDRESS; the image has no curl, node's fetch does it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.WS2OTEL_HTTP_ADDRESS||'').split(':').pop()||'8686';fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["run", "--config", "/etc/ws2otel/config.yaml"]

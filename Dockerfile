# syntax=docker/dockerfile:1
# Mandate production image. OPA's own image checks, tests and compiles the policies to Wasm; a Node
# stage finds the input paths they read; another installs production dependencies; a slim Node 24
# runtime runs as non-root.

FROM openpolicyagent/opa:1.22.2-static AS policy
WORKDIR /src
COPY rego/ rego/
RUN ["/opa", "fmt", "--fail", "--list", "rego"]
RUN ["/opa", "check", "--strict", "rego"]
RUN ["/opa", "test", "rego"]
# The same two entrypoints as scripts/build-policy.sh: the proxy's decision and the token exchange's.
RUN ["/opa", "build", "--target", "wasm", "--entrypoint", "mandate/decision", "--entrypoint", "mandate/exchange/decision", "--ignore", "*_test.rego", "--output", "/src/bundle.tar.gz", "rego"]

# The parts of `input` the policies read, as scripts/build-policy.sh finds them with `opa parse`:
# decisions are remembered by them (gateway/pipeline/3-authorize/decision-memo.ts).
FROM node:24.21.0-bookworm-slim AS policy-paths
WORKDIR /src
COPY --from=policy /opa /usr/local/bin/opa
COPY rego/ rego/
COPY scripts/policy-input-paths.ts scripts/
RUN node scripts/policy-input-paths.ts rego > input-paths.json

FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# `npm install`, not `npm ci`, as in scripts/toolchain.sh: the lockfile lists Biome's linux-x64 binary
# only (the registry this project is built from carries no other), and `npm ci` refuses it as out of
# sync even with the dev dependencies omitted. With the lockfile present, the locked versions install.
RUN npm install --omit=dev --no-audit --no-fund --loglevel=error

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json routes.yaml ./
COPY gateway/ gateway/
COPY --from=policy /src/bundle.tar.gz /tmp/bundle.tar.gz
RUN mkdir -p .build/policy data \
 && tar xzf /tmp/bundle.tar.gz -C .build/policy --no-same-owner /policy.wasm /data.json \
 && rm /tmp/bundle.tar.gz \
 && chown node:node data
COPY --from=policy-paths /src/input-paths.json .build/policy/input-paths.json
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "gateway/main.ts"]
CMD ["serve", "--config", "/app/routes.yaml", "--host", "0.0.0.0"]

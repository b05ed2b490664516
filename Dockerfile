# The standalone gateway (apps/gateway).
#   docker build -t realtime-gateway .
#   docker run --rm -p 3000:3000 --stop-timeout 20 -e JWT_SECRET=... realtime-gateway
#   (--stop-timeout: longer than DRAIN_TIMEOUT_MS, 10 s by default, so a stop can drain)
# Node 24, the active LTS line. test/docker-image.e2e-spec.ts checks these steps against the
# repository and performs them in a scratch folder, since no Docker engine runs the tests.

# 1. Build: every dependency (TypeScript, esbuild), then `npm run build`.
FROM node:24-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-demo-page.mjs ./scripts/
COPY libs ./libs
COPY apps ./apps
RUN npm run build

# 2. The gateway's production dependencies, at the lockfile's versions: the library's own, the
# Nest packages it takes as peers, and the drivers it leaves optional (Kafka, Redis, Express).
FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/gateway-dependencies.mjs ./scripts/
RUN node scripts/gateway-dependencies.mjs && npm ci --omit=dev --no-audit --no-fund

# 3. The image: Node, those dependencies and the compiled gateway, run as the unprivileged
# `node` user (the files stay root's: the process cannot change its own code).
FROM node:24-alpine
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/libs/realtime ./dist/libs/realtime
COPY --from=build /app/dist/apps/gateway ./dist/apps/gateway
USER node
EXPOSE 3000
# Liveness (/health), not readiness: an instance that lost Redis or Kafka still serves its
# clients and must not be restarted for it; /health/ready is for load balancers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/health" || exit 1
CMD ["node", "dist/apps/gateway/src/main.js"]

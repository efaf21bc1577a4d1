# Multi-stage build: compile the one binary on the Bun image, ship it alone on a slim glibc base.
ARG BUN_IMAGE=oven/bun:1.4.5
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUN_IMAGE} AS build
WORKDIR /app
COPY package.json bun.lock bunfig.toml tsconfig.json ./
RUN bun install --frozen-lockfile
COPY src ./src
RUN bun run build

FROM ${RUNTIME_IMAGE}
COPY --from=build /app/dist/ /usr/local/bin/
# Containers log to stdout; the orchestrator collects it.
ENV SIMPLE_DAEMON_STREAM=1 \
    SIMPLE_DAEMON_NO_LOG_FILE=1
USER 65532:65532
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/simple-daemon"]

# The daemon as a container image: compile the one binary on the Bun image, ship it alone on a
# minimal glibc base. Both bases can be swapped with --build-arg (a mirror, distroless, a local
# image). Build: podman build -t simple-daemon .   Run: podman run --init simple-daemon
ARG BUN_IMAGE=oven/bun:1.4.5
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUN_IMAGE} AS build
WORKDIR /app
COPY package.json bun.lock bunfig.toml tsconfig.json ./
# Only what the binary needs; the lockfile pins every version.
RUN bun install --frozen-lockfile --production
COPY src ./src
COPY templates ./templates
# `bun run build` itself (src/build.ts holds the flags); .git is not in the context, so the
# version is package.json's.
RUN bun src/build.ts --outdir /app/dist

FROM ${RUNTIME_IMAGE}
COPY --from=build /app/dist/simple-daemon /usr/local/bin/simple-daemon
# Containers log to stdout, which the runtime collects; no log file inside the image.
ENV SIMPLE_DAEMON_STREAM=1 \
    SIMPLE_DAEMON_NO_LOG_FILE=1
# An unprivileged user that exists in any base (no /etc/passwd entry is needed).
USER 65532:65532
# The daemon's graceful stop; set the runtime's stop timeout above --shutdown-timeout (10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/simple-daemon"]

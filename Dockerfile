# syntax=docker/dockerfile:1
# The `bearing` binary in a minimal image, for sharded load runs on Kubernetes
# (deploy/kubernetes/, issue 8):
#   docker build -t bearing:latest .
#   docker run --rm bearing:latest load --help
# Stage 1 builds with the locked dependencies; stage 2 holds only the binary and the bundled
# scenarios on distroless/cc (glibc, CA certificates, no shell, no package manager), run as
# the non-root user 65532.

ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin bearing \
    && install -D -m 0755 target/release/bearing /out/bearing

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/bearing /usr/local/bin/bearing
COPY scenarios/ /opt/bearing/scenarios/
WORKDIR /opt/bearing
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bearing"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# speedup in a container: the image the Kubernetes Indexed Job of
# docs/bench-indexed-job.yaml runs, one `speedup bench` per pod
# (docs/distributed.md). Build and push it to a registry your cluster pulls from:
#
#   docker build -t REGISTRY/speedup:VERSION .
#   docker push REGISTRY/speedup:VERSION
#
# Stage 1 builds with the Rust of our MSRV (`rust-version` in Cargo.toml; a
# test checks the two agree) and the locked dependencies, as CI does.
FROM rust:1.85-slim-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target folders are build caches (BuildKit), so a rebuild
# after a source change recompiles our crates only; the binary is copied out
# of the cached target folder within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p speedup \
    && cp target/release/speedup /usr/local/bin/speedup

# Stage 2: the binary alone on Debian slim, the same Debian (and glibc) it
# was built on. Not distroless: the Job runs its command through /bin/sh, to
# put $JOB_COMPLETION_INDEX in file names. No CA bundle is needed: bench's
# TLS roots are compiled in (webpki-roots).
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin speedup
COPY --from=build /usr/local/bin/speedup /usr/local/bin/speedup
# A numeric user, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
ENTRYPOINT ["speedup"]
CMD ["--help"]

# Multi-stage build: compile with the Rust toolchain, run on a small Debian image as a non-root user.
FROM rust:1-bookworm AS build
# cargo auditable embeds the binary's dependency list in it, for `cargo audit bin` and
# rust-audit-info (docs/security.md). A layer of its own: installed once, not on every change.
RUN cargo install cargo-auditable --locked
WORKDIR /src
# The whole checkout (less .dockerignore): Cargo.toml names bench and test targets whose files
# cargo needs to read the manifest, even for a release build of the binary alone.
COPY . .
RUN cargo auditable build --release --locked --bin notification-router

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app router
WORKDIR /app
COPY --from=build /src/target/release/notification-router /usr/local/bin/notification-router
COPY router.yaml ./
COPY topics ./topics
COPY templates ./templates
COPY examples ./examples
# The delivery ledger's store (ledger.store: data/ledger.redb beside router.yaml): a cache the
# router rebuilds from Kafka, so a volume is optional.
RUN mkdir -p /app/data && chown router /app/data
USER router
ENTRYPOINT ["notification-router"]
CMD ["run"]

# syntax=docker/dockerfile:1
#
# revertbot's container image: `revertbot serve` as uid 10001, reading
# /etc/revertbot/revertbot.yaml (deploy/base mounts it from a ConfigMap).
#
#   docker build -t ghcr.io/acme/revertbot:0.1.0 .
#   docker run --rm -p 9095:9095 -v "$PWD/revertbot.yaml:/etc/revertbot/revertbot.yaml:ro" \
#     -v revertbot-data:/var/lib/revertbot ghcr.io/acme/revertbot:0.1.0
#
# In a container the configuration must say `listen: 0.0.0.0:9095` (the default, 127.0.0.1, is
# not reachable from outside the container); deploy/base/revertbot.yaml does.

# ---- build ------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# git2's https and ssh transports: libgit2 and libssh2 are built from source and linked in
# statically; they link OpenSSL (found with pkg-config) and zlib dynamically.
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, in a layer of their own that is rebuilt only when Cargo.toml or Cargo.lock
# change: the workspace's manifests with empty targets (cargo loads every member of the
# workspace, testkit too, even to build one binary; the [[bench]] entries get empty files as
# well, for cargo versions that look for them).
COPY Cargo.toml Cargo.lock ./
COPY testkit/Cargo.toml testkit/Cargo.toml
RUN mkdir -p src testkit/src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs testkit/src/lib.rs \
 && for bench in $(sed -n '/^\[\[bench\]\]/,/^name/ s/^name *= *"\([^"]*\)".*/\1/p' Cargo.toml); do \
      echo 'fn main() {}' > "benches/$bench.rs"; \
    done \
 && cargo build --release --locked --bin revertbot \
 && rm -rf src

# The sources (the SQL migrations under src/ are embedded with include_str!). COPY keeps the
# files' modification times, which may be older than the empty crate built above: touch the
# crate roots so that cargo builds revertbot again rather than keep the empty one.
COPY src src
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin revertbot \
 && install -D -m 0755 target/release/revertbot /out/revertbot \
 && /out/revertbot --version

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: the system roots, for GitHub's API (rustls with the native roots), git over
# HTTPS (libgit2 with OpenSSL) and PostgreSQL's TLS when no sslrootcert is given. libssl3:
# OpenSSL, linked dynamically (zlib and libgcc are in the base image). No git CLI: revertbot does
# all its git work with libgit2.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/*

# HOME: libgit2 reads $HOME/.ssh/known_hosts for SSH remotes (mount it there; the root
# filesystem may be read-only). /var/lib/revertbot: data_dir (the mirror cache, and the SQLite
# journal), a volume in practice.
RUN groupadd --system --gid 10001 revertbot \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/revertbot --create-home \
      --shell /usr/sbin/nologin revertbot \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/revertbot \
 && install -d -m 0755 /etc/revertbot

COPY --from=builder /out/revertbot /usr/local/bin/revertbot
COPY config/revertbot.example.yaml /etc/revertbot/revertbot.example.yaml

ENV HOME=/home/revertbot
USER 10001:10001
WORKDIR /var/lib/revertbot
EXPOSE 9095

LABEL org.opencontainers.image.title="revertbot" \
      org.opencontainers.image.description="Roll back a bad image through GitOps: revert the commit that bumped it, through a pull request." \
      org.opencontainers.image.licenses="Apache-2.0"

ENTRYPOINT ["revertbot"]
CMD ["serve", "--config", "/etc/revertbot/revertbot.yaml"]

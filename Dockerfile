# Multi-stage build of the ddlgate binary (used by docker-compose.yml).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p ddlgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/ddlgate /usr/local/bin/ddlgate
USER nobody
ENTRYPOINT ["/usr/local/bin/ddlgate"]

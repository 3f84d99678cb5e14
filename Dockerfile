# Multi-stage build of the ddlgate binary (used by docker-compose.yml).
#
#   docker build -t ddlgate .
#   docker run --rm -p 6432:6432 -p 9187:9187 ddlgate
#       with no configuration: a throwaway PostgreSQL inside the container (the image ships
#       Debian's server binaries), fronted on :6432, the admin API on :9187
#   docker run --rm -p 6432:6432 -p 9187:9187 \
#       -v $PWD/config:/etc/ddlgate:ro -v $PWD/audit:/var/log/ddlgate \
#       -e DDLGATE_ADMIN_TOKEN=… ddlgate --config /etc/ddlgate/gateway.toml
#       with your configuration mounted; point [log] audit_file into /var/log/ddlgate
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p ddlgate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /etc/ddlgate /var/log/ddlgate \
 && chown nobody /var/log/ddlgate
COPY --from=build /src/target/release/ddlgate /usr/local/bin/ddlgate
COPY config /etc/ddlgate/examples
USER nobody
ENV PG_BIN=/usr/lib/postgresql/15/bin
VOLUME ["/var/log/ddlgate"]
EXPOSE 6432 9187
# The admin API's liveness probe (the default command turns the API on).
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9187/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/ddlgate"]
CMD ["--listen", "0.0.0.0:6432", "--admin-listen", "0.0.0.0:9187"]

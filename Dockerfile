# syntax=docker/dockerfile:1
# One image holding every Tillit binary (identity, assets, incidents, reporting, portal,
# the tillit CLI). The chart runs /usr/local/bin/tillit-<component>.
#
#   docker build -t tillit:0.1.0 .                      the builder and runtime stages
#   just image                                          offline: the `offline` stage, with buildah
#
# The `offline` stage is first so that building it needs no other stage: it takes the
# release binaries built on the host and exactly the shared libraries they link
# (scripts/image.sh gathers them into target/image-root/).

FROM scratch AS offline
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="tillit" \
      org.opencontainers.image.description="Tillit: an executable information-security policy (identity, assets, incidents, reporting, portal)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/tillit/tillit"
COPY target/image-root/ /
USER 10001:10001
EXPOSE 50051 8080 9090
ENTRYPOINT ["/usr/local/bin/tillit-portal"]

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins \
      -p tillit-identity -p tillit-assets -p tillit-incidents -p tillit-reporting \
      -p tillit-portal -p tillit-cli \
 && mkdir -p /out \
 && cp target/release/tillit-identity target/release/tillit-assets \
       target/release/tillit-incidents target/release/tillit-reporting \
       target/release/tillit-portal target/release/tillit /out/

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="tillit" \
      org.opencontainers.image.description="Tillit: an executable information-security policy (identity, assets, incidents, reporting, portal)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/tillit/tillit"
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
EXPOSE 50051 8080 9090
ENTRYPOINT ["/usr/local/bin/tillit-portal"]

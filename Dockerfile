# Production image: `docker build -t essaim .` then `docker run essaim demo`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p essaim

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/essaim --create-home essaim
COPY --from=build /src/target/release/essaim /usr/local/bin/essaim
USER essaim
ENV ESSAIM_DATA_DIR=/var/lib/essaim
VOLUME /var/lib/essaim
ENTRYPOINT ["essaim"]
CMD ["demo"]

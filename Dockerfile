# Production image: `docker build -t essaim .` then `docker run essaim demo`, or
# `docker run -e ESSAIM_TELEGRAM_TOKEN=… -e ESSAIM_DATABASE_URL=postgres://… -p 8080:8080 essaim serve`.
FROM rust:1.95-bookworm AS build
# HiGHS (the solver's optional backend, the image's default) builds from C++ sources with cmake;
# bindgen needs libclang for its Rust bindings.
RUN apt-get update && apt-get install -y --no-install-recommends cmake g++ libclang-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p essaim --features highs

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libstdc++6 libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/essaim --create-home essaim
COPY --from=build /src/target/release/essaim /usr/local/bin/essaim
USER essaim
ENV ESSAIM_DATA_DIR=/var/lib/essaim
# The image carries HiGHS: use it (`ESSAIM_SOLVER__BACKEND=microlp` for the built-in search).
ENV ESSAIM_SOLVER__BACKEND=highs
# `essaim serve` listens on every interface inside the container (health, Telegram webhook,
# Discord interactions); bot tokens come from ESSAIM_TELEGRAM_TOKEN / ESSAIM_DISCORD_TOKEN at run time.
ENV ESSAIM_SERVE__LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME /var/lib/essaim
ENTRYPOINT ["essaim"]
CMD ["demo"]

# The metrics-adapter image: built on Debian bookworm with its packaged libraries, run on
# bookworm-slim with only the shared libraries the binary links, as a non-root user.
#   docker build -t metrics-adapter:0.1.0 .
#   docker run --rm metrics-adapter:0.1.0 --help

FROM debian:bookworm AS build
# The build part of scripts/install-deps.sh (toolchain and libraries; GoogleTest because the
# CMake project configures its tests too).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libssl-dev libyaml-cpp-dev \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      libre2-dev libabsl-dev libsnappy-dev zlib1g-dev \
      libgtest-dev libgmock-dev googletest \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMA_BENCH=OFF \
 && cmake --build /build --target metrics-adapter \
 && strip /build/adapter/metrics-adapter

FROM debian:bookworm-slim
# The libraries `ldd metrics-adapter` lists (libstdc++, libgcc and libc are in the base image);
# ca-certificates for an https --prometheus-url.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libboost-json1.81.0 libssl3 libyaml-cpp0.7 libre2-9 libabsl20220623 \
      libsnappy1v5 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 metrics-adapter \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /var/lib/metrics-adapter --shell /usr/sbin/nologin metrics-adapter \
 && install -d -o 10001 -g 10001 /var/lib/metrics-adapter
COPY --from=build /build/adapter/metrics-adapter /usr/local/bin/metrics-adapter
# Numeric, so that Kubernetes' runAsNonRoot can check it (manifests/deployment.yaml runs as
# the same user).
USER 10001:10001
# The default --storage-path (data) and --cert-dir are relative: they land here.
WORKDIR /var/lib/metrics-adapter
EXPOSE 6443 8080
ENTRYPOINT ["/usr/local/bin/metrics-adapter", "serve"]

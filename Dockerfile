# Strongroom's image: a static binary on an empty base.
#
#   docker build -t strongroom .            (or: docker compose up --build)
#
# Written for the classic builder as well as BuildKit: no cache mounts, no
# heredocs. The build stage needs the Go module proxy; the final image holds
# only the binary, CA certificates and an empty /data owned by the non-root
# user, so it runs with a read-only root filesystem.

# The Go toolchain image (Go 1.27.3: earlier standard libraries have known
# vulnerabilities). GO_IMAGE lets a machine with no registry use a local one.
ARG GO_IMAGE=golang:1.27.3-bookworm
FROM ${GO_IMAGE} AS build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
WORKDIR /src
# Modules and the packages Strongroom imports from them first: these layers
# are reused until go.mod, go.sum or that list change, so a change to
# Strongroom's own code compiles only that code.
COPY go.mod go.sum ./
COPY deploy/go-deps.txt deploy/
RUN go mod download && grep -v '^#' deploy/go-deps.txt | xargs go build
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X main.version=${VERSION}" -o /out/strongroom ./cmd/strongroom \
 && /out/strongroom version \
 && mkdir -p /out/fs/data /out/fs/run/strongroom/approle /out/fs/vault-init /out/fs/tmp \
 && chmod 0700 /out/fs/data /out/fs/run/strongroom/approle /out/fs/vault-init \
 && chmod 1777 /out/fs/tmp

FROM scratch
# TLS to Vault, SMTP and MongoDB Atlas verifies against the usual roots.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# Directories a named volume mounted there starts from: owned by the
# service's user (65532, distroless's "nonroot"), so no root step is needed.
COPY --from=build --chown=65532:65532 /out/fs/ /
COPY --from=build /out/strongroom /strongroom
USER 65532:65532
ENV STRONGROOM_ADDR=:8000 STRONGROOM_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
# No shell or curl here: the binary checks its own /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["/strongroom", "healthcheck"]
ENTRYPOINT ["/strongroom"]
CMD ["serve"]

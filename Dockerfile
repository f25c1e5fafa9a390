# A pave node: the pave binary alone, as a non-root user, on a distroless
# base. Build with `docker build -t pave .` from the repository's root.
#
#   docker run -d --name pave -p 8080:8080 -v pave-data:/data pave
#   docker exec pave pave ls
#
# The gateway listens on every interface of the container; the admin API and
# the console stay on the container's loopback (reach them with docker exec,
# or set PAVE_ADMIN=0.0.0.0:8081 with TLS, --tls-cert and --tls-key, and
# publish the port deliberately). Give the secrets' master key and the audit
# key from outside the data volume in production (docs/OPERATIONS.md).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/pave ./cmd/pave \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pave /usr/local/bin/pave
COPY --from=build --chown=65532:65532 /out/data /data
ENV PAVE_DATA=/data \
    PAVE_LISTEN=0.0.0.0:8080 \
    PAVE_ADMIN=127.0.0.1:8081
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/pave", "serve"]

# The emflow runtime image: the SDK (operator host, Arrow codec, shared-memory addon) and its dependencies.
# BASE is emflow/node-base:<node version> (built offline by `emflow build` from this machine's Node) or,
# on machines that can pull, node:20-slim (`emflow build --base slim`).
ARG BASE=node:20-slim
FROM ${BASE}
COPY app/ /opt/emflow/
ENV NODE_ENV=production
USER 10001:10001
WORKDIR /tmp

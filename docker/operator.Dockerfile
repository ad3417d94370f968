# One operator image: the operator's compiled module and its own production dependencies on top of the
# runtime image. `emflow build` adds the labels: emflow.operator (the spec from the decorator) and the
# org.opencontainers.image.* labels.
ARG RUNTIME=emflow/runtime:0.1.0
FROM ${RUNTIME}
ARG MODULE
ARG OPERATOR
COPY app/ /opt/emflow/
ENV EMFLOW_MODULE=${MODULE} EMFLOW_OPERATOR=${OPERATOR}
USER 10001:10001
ENTRYPOINT ["node", "/opt/emflow/node_modules/@emflow/sdk/dist/host/main.js"]

# One Python operator image: the Python SDK (emflow_sdk) and the operator's folder (pyproject.toml and its
# Python files) on the Python base, emflow/python-base:<hash> (Debian bookworm with python3, numpy and the
# Debian packages the operators name, made by `emflow build` with debootstrap and `docker import`).
# `emflow build` adds the labels: emflow.operator (the spec from the @operator decorator) and the
# org.opencontainers.image.* labels. `python3 -m emflow_sdk` reads EMFLOW_MODULE and EMFLOW_OPERATOR.
ARG BASE
FROM ${BASE}
ARG MODULE
ARG OPERATOR
COPY sdk/ /opt/emflow/sdk/python/
COPY app/ /opt/emflow/
ENV PYTHONPATH=/opt/emflow/sdk/python EMFLOW_MODULE=${MODULE} EMFLOW_OPERATOR=${OPERATOR} PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["python3", "-m", "emflow_sdk"]

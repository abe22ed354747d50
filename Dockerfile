# One image, three roles: `worker` (the default), `api` and `migrate`.
#   docker build -t stepwise:0.1.0 .
#   docker run stepwise:0.1.0            -> stepwise worker
#   docker run stepwise:0.1.0 api        -> stepwise api
#   docker run stepwise:0.1.0 migrate    -> stepwise migrate
# The build stage installs the project into a virtualenv; the runtime stage copies only
# that virtualenv onto a clean slim base: no pip cache, no sources, no compilers.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/stepwise
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY workflows ./workflows
COPY activities ./activities
# pip compiles the packages' bytecode here: the pods' root filesystem is read-only.
RUN /opt/stepwise/bin/pip install --no-cache-dir .
# Alembic's scripts live beside the installed packages, where `stepwise migrate` looks first.
COPY migrations ./migrations
RUN cp -r migrations "$(/opt/stepwise/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/migrations"

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/stepwise/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STEPWISE_WORKER__HOST=0.0.0.0 \
    STEPWISE_API__HOST=0.0.0.0
RUN groupadd --system --gid 10001 stepwise \
    && useradd --system --uid 10001 --gid stepwise --home-dir /home/stepwise --create-home \
       --shell /usr/sbin/nologin stepwise
COPY --from=build /opt/stepwise /opt/stepwise
WORKDIR /home/stepwise
USER 10001:10001
# 8000: API; 8081: worker /healthz and /readyz; 9464: worker /metrics.
EXPOSE 8000 8081 9464
# Exec form: `stepwise` is PID 1 and receives SIGTERM itself, so the worker drains.
ENTRYPOINT ["stepwise"]
CMD ["worker"]

# Paperpost: slim, non-root image. State lives in the /data volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY paperpost ./paperpost
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 paperpost && mkdir /data && chown paperpost /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER paperpost
ENV PAPERPOST_DATA_DIR=/data \
    PAPERPOST_HOST=0.0.0.0 \
    PORT=3000 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)" || exit 1
ENTRYPOINT ["paperpost"]
# `run` needs SLACK_BOT_TOKEN and/or DISCORD_BOT_TOKEN: without either it exits 2
# with one line naming them (a container cannot restart in a silent loop).
# `docker run --rm -i IMAGE console --offline` serves the console on stdin instead.
CMD ["run"]

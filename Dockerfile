FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir . \
    && useradd --create-home occ \
    && mkdir /data && chown occ /data
USER occ
# SQLite by default, on a volume so the decision log survives restarts; set DATABASE_URL
# (PostgreSQL / Supabase) to use a server instead.
ENV PORT=3000 DATABASE_URL=sqlite:////data/occ.db OCC_SPOOL_DIR=/data/occ-spool
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/healthz')"
CMD ["occ-bot", "serve"]

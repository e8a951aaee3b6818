FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY feeds ./feeds
COPY config ./config
RUN pip install --no-cache-dir . flower
RUN useradd --create-home syndicate
USER syndicate

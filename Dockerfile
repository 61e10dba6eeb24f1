FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY domain domain
COPY recaudit recaudit
COPY consumers consumers
COPY projections projections
COPY schemas schemas
RUN pip install --no-cache-dir -c constraints.txt .
# Listening on every interface needs access tokens: mount a tokens file at /config/tokens
# (`recaudit token --add-to /config/tokens ...` makes one; see docker-compose.yml).
ENV RECAUDIT_DATA_DIR=/data RECAUDIT_TOKENS_FILE=/config/tokens
EXPOSE 8080
CMD ["recaudit", "serve", "--host", "0.0.0.0", "--port", "8080"]

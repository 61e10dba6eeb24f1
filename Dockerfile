FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY recaudit recaudit
COPY consumers consumers
COPY projections projections
COPY schemas schemas
RUN pip install --no-cache-dir .
EXPOSE 8080
CMD ["recaudit", "serve", "--host", "0.0.0.0"]

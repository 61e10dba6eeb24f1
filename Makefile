# The README's commands. `make run` and `make test` are all a fresh machine needs.
.PHONY: run test serve bench lint install services stop-services

run:            ## install, then drive a realistic mix of calls on the embedded defaults
	scripts/run.sh

test:           ## install, start PostgreSQL and Kafka, run every test
	scripts/test.sh

serve:          ## install, then run the backend on 127.0.0.1:8080 (embedded defaults)
	scripts/bootstrap.sh && .venv/bin/recaudit serve

bench:          ## every benchmark, each printing its figures next to its baseline
	scripts/bench.sh

lint:
	scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/mypy

install:
	scripts/bootstrap.sh

services:
	scripts/postgres.sh start && scripts/kafka.sh start && scripts/kafka.sh wait-ready

stop-services:
	scripts/kafka.sh stop; scripts/postgres.sh stop

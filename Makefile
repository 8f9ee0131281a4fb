# The two quick-start commands: `make run` and `make test`.
CARGO ?= cargo
DEMO_CAPTURE ?= captures/demo-calculator.pcapng

.PHONY: setup build run test fmt clippy bench

setup:
	@./scripts/setup.sh

build: setup
	$(CARGO) build --release -p wcfscope

# Opens wcfscope on the bundled demo capture with its demo key.
run: build
	./scripts/run-demo.sh

# Every test: unit, integration and end-to-end.
test: setup
	$(CARGO) test --workspace --all-features --no-fail-fast

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features

# Throughput and peak memory of `analyze` against tshark on a generated >= 200 MB capture.
bench: setup
	$(CARGO) bench -p wcfscope --bench analyze

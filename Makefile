# Theus-C++ developer entry points. `make demo` and `make test` do all set-up on a fresh machine.
#   make demo    install what is missing, build, run the example application
#   make test    build and run every C++ and Python test
#   make bench   build optimised and run every benchmark (results: build/bench/results.jsonl)
#   make asan | make tsan   run the C++ tests under sanitizers
#   make fuzz    run every libFuzzer target for FUZZ_TIME seconds (default 300) each
#   make fmt     clang-format the C++ sources
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON  ?= python3
DEV     := build/dev
RELEASE := build/release
FUZZ    := build/fuzz
FUZZ_TIME  ?= 300
FUZZ_RUNS  ?= 20000

.PHONY: all bootstrap build release demo test test-cpp test-python bench bench-cpp bench-python \
        asan tsan fuzz fuzz-build fuzz-smoke fmt fmt-check tidy clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

release: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@echo "== C++: examples/cpp/bank_demo.cpp"
	@$(DEV)/examples/cpp/bank_demo
	@echo
	@echo "== Python: the e-commerce project of 'theus init --template ecommerce' (build/demo-shop)"
	@rm -rf build/demo-shop
	@$(PYTHON) scripts/run-python --build $(DEV) -m theus init build/demo-shop --template ecommerce --quiet
	@cd build/demo-shop && $(PYTHON) ../../scripts/run-python --build ../dev -m theus check
	@cd build/demo-shop && $(PYTHON) ../../scripts/run-python --build ../dev main.py

test: build
	@$(MAKE) --no-print-directory test-cpp
	@$(MAKE) --no-print-directory test-python
	@$(MAKE) --no-print-directory fuzz-smoke

test-cpp:
	@ctest --preset dev -j $(JOBS) --timeout 300

test-python:
	@$(PYTHON) scripts/run-pytest --build $(DEV) -q tests/python

bench: release
	@mkdir -p build/bench
	@$(MAKE) --no-print-directory bench-cpp
	@$(MAKE) --no-print-directory bench-python

bench-cpp:
	@for b in $(RELEASE)/bench/cpp/bench_*; do \
	  echo "== $$b"; THEUS_BENCH_RESULTS=build/bench/results.jsonl $$b || exit 1; \
	done

bench-python:
	@for b in bench/python/bench_*.py; do \
	  echo "== $$b"; PYTHONPATH=python:$(RELEASE)/python THEUS_BENCH_RESULTS=build/bench/results.jsonl \
	    $(PYTHON) $$b || exit 1; \
	done

asan: bootstrap
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) --timeout 900

tsan: bootstrap
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@ctest --preset tsan -j $(JOBS) --timeout 900

# libFuzzer targets (clang, ASan + UBSan). Each target starts from its seeds in
# tests/fuzz/corpus/<name>/ and writes new inputs to build/fuzz/corpus/<name>/; a crash leaves its
# input in build/fuzz/ (crash-*) and fails the target.
fuzz-build: bootstrap
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)

fuzz-smoke: fuzz-build
	@scripts/run-fuzz --build $(FUZZ) --runs $(FUZZ_RUNS) --max-time 60

fuzz: fuzz-build
	@scripts/run-fuzz --build $(FUZZ) --max-time $(FUZZ_TIME)

fmt:
	@find include src bindings tests bench examples -name '*.hpp' -o -name '*.cpp' | xargs clang-format -i

fmt-check:
	@find include src bindings tests bench examples -name '*.hpp' -o -name '*.cpp' | xargs clang-format --dry-run --Werror

tidy: build
	@find src -name '*.cpp' ! -name '*_test.cpp' | xargs clang-tidy -p $(DEV) --quiet

clean:
	@rm -rf build

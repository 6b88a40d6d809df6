# Portico — the two commands: `make run` and `make test`.
# Both run `make deps` first (installs the missing Debian packages, saying why),
# configure and build with CMake, then run the host or the whole test suite.
# `make package` builds the .deb, `make install` installs (docs/deploy.md).

BUILD      ?= build
CONFIG     ?= config/portico.yaml
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_TYPE ?= RelWithDebInfo
# The install prefix the build is configured for: the binary's default config
# is compiled in from it (/usr -> /etc/portico/portico.yaml), and the .deb
# installs under it. Read once, when $(BUILD) is first configured.
PREFIX     ?= /usr

# The Debian packages `make deps` installs when missing, each with why.
# `make run` and `make test` run `make deps` first; it prints what it
# installs and the reason, and does nothing when all are there.
PACKAGES += cmake
why.cmake := build: the build system
PACKAGES += g++
why.g++ := build: the C++20 compiler
PACKAGES += make
why.make := build: drives cmake
PACKAGES += pkg-config
why.pkg-config := build: finds libraries
PACKAGES += libpoco-dev
why.libpoco-dev := build: Poco (Foundation, Net, Util, NetSSL, JSON), the engine of the host
PACKAGES += libyaml-cpp-dev
why.libyaml-cpp-dev := build: the YAML config loader
PACKAGES += libgtest-dev
why.libgtest-dev := test: GoogleTest, unit and integration tests
PACKAGES += libgmock-dev
why.libgmock-dev := test: GoogleMock, with GoogleTest
PACKAGES += netcat-openbsd
why.netcat-openbsd := test and README: nc, the seed exchange from a shell
PACKAGES += redis-tools
why.redis-tools := test: redis-cli and redis-benchmark against the kv plugin
PACKAGES += curl
why.curl := test: HTTP client for http_hello and the admin API
PACKAGES += chromium
why.chromium := test: renders the admin status page
PACKAGES += openssl
why.openssl := test: makes the certificates of the TLS tests
PACKAGES += python3
why.python3 := test: TLS client (ssl module), socketserver-style clients
PACKAGES += dpkg-dev
why.dpkg-dev := package: dpkg-shlibdeps computes the Depends of the .deb
PACKAGES += systemd
why.systemd := test: systemd-analyze verifies the unit files, systemd-socket-activate passes sockets
PACKAGES += python3-prometheus-client
why.python3-prometheus-client := test: a real Prometheus parser reads /metrics
PACKAGES += haproxy
why.haproxy := test: sends real PROXY protocol headers to the parser
PACKAGES += nginx
why.nginx := test: nginx stream in front of a host (tests/integration/fleet_test.cpp)
PACKAGES += libnginx-mod-stream
why.libnginx-mod-stream := test: nginx's stream module, for the fleet test

rparen := )
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# ccache, when installed, speeds up rebuilds in several checkouts; never required.
LAUNCHER := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

# `make bench` only: the plot, the real peers it is measured against, and
# the Python baseline (tests/bench/run_bench.py).
BENCH_PACKAGES := gnuplot-nox redis-server redis-tools nginx-light wrk python3 valgrind
BENCH_BUILD    ?= $(BUILD)-release

.PHONY: all deps configure build build-host run install package test test-sanitize test-tsan check format clean bench-reload bench-idle bench bench-deps

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing the missing Debian packages:"; \
	  for p in $$missing; do \
	    case $$p in $(foreach p,$(patsubst why.%,%,$(filter why.%,$(.VARIABLES))),$(p)$(rparen) why="$(why.$(p))";;) *$(rparen) why="(asked for by this make target)";; esac; \
	    printf '  %-26s %s\n' "$$p" "$$why"; \
	  done; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(LAUNCHER)

configure: deps $(BUILD)/CMakeCache.txt

# Everything: host, plugins, tests, fuzz replays, bench tools.
build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Only what `make run` serves: the host and the plugins we ship.
build-host: configure
	cmake --build $(BUILD) -j $(JOBS) --target portico portico_shipped_plugins

# The checkout's config (plugins.dir: ../build/plugins), passed explicitly:
# without --config the binary reads $PORTICO_CONFIG, else the installed
# /etc/portico/portico.yaml.
run: build-host
	$(BUILD)/bin/portico --config $(CONFIG)

check: build-host
	$(BUILD)/bin/portico --check --config $(CONFIG)

# Host, plugins, config, systemd units, docs and SDK under $(PREFIX) (or
# $(DESTDIR)$(PREFIX)); as root for the real thing, the package is better.
install: build-host
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The .deb (dpkg-deb -I/-c shows what it holds): $(BUILD)/portico_*.deb
package: build-host
	cd $(BUILD) && cpack -G DEB

# Unit tests run in parallel; the tests that start real hosts run one at a
# time, so floods, reload storms and 10 000-connection tests never compete
# for the same two cores and their latency checks measure the host.
CTEST_UNIT   := ctest --output-on-failure -L unit -j $(JOBS)
CTEST_SERIAL := ctest --output-on-failure -LE unit -j 1

# Our test builds treat warnings as errors (a user's `make run` or plain
# cmake build does not).
test: deps $(BUILD)/CMakeCache.txt
	cmake -S . -B $(BUILD) -DPORTICO_WERROR=ON
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && $(CTEST_UNIT) --timeout 300 && $(CTEST_SERIAL) --timeout 300

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (CI runs this too).
test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug $(LAUNCHER) -DPORTICO_WERROR=ON -DPORTICO_SANITIZE=address,undefined
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 && \
	  $(CTEST_UNIT) --timeout 600 && $(CTEST_SERIAL) --timeout 600

# The concurrency tests under ThreadSanitizer (CI runs this too): every unit
# test, and the integration tests of both stream modes, hot reload and
# shutdown, and process-mode state hand-off (its responder thread in each
# worker), against a portico built with -fsanitize=thread. A race in a
# portico process is written to $(BUILD)-tsan/tsan/ (whatever the test made
# of it) and fails the target. tests/tsan.supp names the few reports that
# come from Debian's Poco not being built with TSan (its reference counts).
# Left out: ReloadUnderLoad.TwentySwaps (under TSan the plugin copy loaded
# at start stays mapped after dlclose, not in plain or ASan builds, which
# fails its unload check; its load and hand-over run in Reload* anyway) and
# OverlongLine (it bounds the host's memory, which TSan's shadow inflates).
# A race report fails the target; a crash report (the fiber stack-overflow
# death test's, on purpose) does not.
TSAN_TESTS := ^(Events|Modes/|Serving|Reload|Shutdown|UdpReload|UdpServing|CounterHandoff|Limits|Engines/ProcessState|ProcessState)
TSAN_SKIP  := ^(ReloadUnderLoad\.TwentySwaps|Modes/LimitsTimeouts\.OverlongLine)
test-tsan: deps
	cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug $(LAUNCHER) -DPORTICO_WERROR=ON -DPORTICO_SANITIZE=thread
	cmake --build $(BUILD)-tsan -j $(JOBS)
	rm -rf $(BUILD)-tsan/tsan && mkdir -p $(BUILD)-tsan/tsan
	cd $(BUILD)-tsan && export TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp log_path=$(abspath $(BUILD)-tsan)/tsan/race second_deadlock_stack=1" && \
	  $(CTEST_UNIT) --timeout 600 && $(CTEST_SERIAL) -L integration -R '$(TSAN_TESTS)' -E '$(TSAN_SKIP)' --timeout 600
	@reports=$$(grep -l "WARNING: ThreadSanitizer" $(BUILD)-tsan/tsan/race.* 2>/dev/null); \
	if [ -n "$$reports" ]; then echo "ThreadSanitizer reported:"; cat $$reports; exit 1; fi

# Latency and failures during a plugin reload every 100 ms, next to the same
# load without reloads (tests/bench/reload_storm.cpp).
bench-reload: build
	$(BUILD)/tests/bench/reload_storm $(BENCH_ARGS)

# Host RSS and threads per idle connection, 10 000 connections in mode threads
# (tests/bench/idle_connections.cpp; BENCH_ARGS="--mode events --connections N --stack 64KiB").
bench-idle: build
	$(BUILD)/tests/bench/idle_connections $(BENCH_ARGS)

# Portico's echo (mode events, and mode threads) side by side with raw Poco,
# epoll C and Python at 1, 64 and 512 connections, then redis-benchmark (kv vs redis-server) and wrk
# (http_hello vs nginx), in one Release build and one run. Table and chart in
# $(BENCH_BUILD)/bench/, chart copied to docs/bench.png for the README.
bench-deps: deps
	@$(MAKE) --no-print-directory deps PACKAGES="$(BENCH_PACKAGES)"

bench: bench-deps
	# -Wno-restrict: GCC 12 at -O3 flags std::string concatenation falsely (GCC bug 105329).
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-Wno-restrict
	cmake --build $(BENCH_BUILD) -j $(JOBS) --target portico_bench_tools
	python3 tests/bench/run_bench.py --build-dir $(BENCH_BUILD) --out $(BUILD)/bench --png docs/bench.png $(BENCH_ARGS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h' '*.hpp' '*.c')

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan

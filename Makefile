# mmulab: the two commands of the README, and the builds behind them.
#
#   make run     install what is missing, build, run the default scenario
#   make check   install what is missing, build, run every test: plain,
#                under ASan+UBSan and under TSan
#
# Other targets: build, test (plain tests only), asan, tsan, install,
# install-test (build an example against the installed library), plots
# (redraw docs/img/, the built-ins' pictures, with mmulab run --plot), fuzz
# (the scenario language's coverage-guided fuzz target for FUZZ_SECONDS,
# default 60: `make fuzz FUZZ_SECONDS=3600` for a long run), clean.

BUILD ?= build
MESON_OPTS ?=
DEBIAN_PACKAGES := gcc make meson ninja-build pkg-config \
	libcmocka-dev libxxhash-dev libjson-c-dev
# Optional at run time: what `mmulab run --plot` and `mmulab check --plot`
# draw with.  Installed with the rest, so that make check tests it.
DEBIAN_PACKAGES += gnuplot-nox
# The fuzz target only: clang and its libFuzzer runtime.
FUZZ_PACKAGES := clang libclang-rt-dev
FUZZ_SECONDS ?= 60
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps fuzz-deps build run test check asan tsan fuzz install \
	install-test plots clean

all: build

deps fuzz-deps:
	@missing=""; \
	for p in $(if $(filter fuzz-deps,$@),$(FUZZ_PACKAGES),$(DEBIAN_PACKAGES)); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y \
			--no-install-recommends $$missing; \
	fi

# $(call meson_build,DIR,OPTIONS)
define meson_build
	@if [ ! -f $(1)/build.ninja ]; then \
		meson setup $(1) $(2) $(MESON_OPTS); fi
	ninja -C $(1)
endef

build: deps
	$(call meson_build,$(BUILD),)

run: build
	./$(BUILD)/mmulab run

test: build
	meson test -C $(BUILD) --print-errorlogs

asan: deps
	$(call meson_build,$(BUILD)-asan,-Db_sanitize=address$(,)undefined -Db_lundef=false)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(BUILD)-asan --print-errorlogs

tsan: deps
	$(call meson_build,$(BUILD)-tsan,-Db_sanitize=thread -Db_lundef=false)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		setarch $$(uname -m) -R meson test -C $(BUILD)-tsan --print-errorlogs

# libFuzzer over the scenario language (tests/fuzz): new inputs go to
# $(BUILD)-fuzz/corpus, findings to $(BUILD)-fuzz/artifacts/; the corpus
# kept in the tree seeds every run.
FUZZ_DIR = $(BUILD)-fuzz
fuzz: deps fuzz-deps
	@if [ ! -f $(FUZZ_DIR)/build.ninja ]; then \
		CC=clang meson setup $(FUZZ_DIR) -Dfuzz=true -Dtests=false \
			-Db_sanitize=address,undefined -Db_lundef=false \
			$(MESON_OPTS); fi
	ninja -C $(FUZZ_DIR) tests/fuzz/fuzz_scenario
	mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	./$(FUZZ_DIR)/tests/fuzz/fuzz_scenario -max_total_time=$(FUZZ_SECONDS) \
		-timeout=10 -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 \
		-dict=tests/fuzz/scenario.dict \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ \
		$(FUZZ_DIR)/corpus tests/fuzz/corpus

check: test asan tsan install-test fuzz
	@echo "check: plain, ASan+UBSan and TSan test suites and the fuzz target passed"

install: build
	meson install -C $(BUILD)

# Install into a staging tree, then build and run examples/simple_mirror.c
# and examples/gru_tlb.c (its bug caught by the checker, its fix clean) with
# nothing but pkg-config and what was installed, as a third party would.
STAGE = $(CURDIR)/$(BUILD)/stage
install-test: build
	rm -rf $(STAGE)
	meson install -C $(BUILD) --destdir "$(STAGE)" --quiet
	@# The protocol mutants are the tree's, not the installed API's.
	@if grep -rli mutant --include='*.h' "$(STAGE)"; then \
		echo "install-test: installed headers mention the mutants"; \
		exit 1; \
	fi
	@pcdir=$$(dirname "$$(find $(STAGE) -name mmulab.pc | head -n1)"); \
	export PKG_CONFIG_PATH="$$pcdir" PKG_CONFIG_SYSROOT_DIR="$(STAGE)"; \
	export LD_LIBRARY_PATH="$$(dirname $$pcdir)"; \
	flags="$$(pkg-config --cflags --libs mmulab)"; \
	for ex in simple_mirror gru_tlb; do \
		cmd="$(CC) -Wall -Wextra -Werror -o $(BUILD)/$$ex-installed"; \
		cmd="$$cmd examples/$$ex.c $$flags"; \
		echo "$$cmd"; $$cmd || exit 1; \
	done; \
	./$(BUILD)/simple_mirror-installed && \
	bash tests/test_gru.sh ./$(BUILD)/gru_tlb-installed

# The pictures docs/scenarios.md and the README show: every built-in,
# seeded (seed 1), so that the drawing is the same on every machine.
PLOT_SCENARIOS := default fault-race gru-tlb xpmem-attach ksm-change-pte \
	swap-guest thp-guest device-memory
plots: build
	mkdir -p docs/img
	for s in $(PLOT_SCENARIOS); do \
		./$(BUILD)/mmulab run $$s --seed 1 --quiet \
			--plot docs/img/$$s.svg || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz

, := ,

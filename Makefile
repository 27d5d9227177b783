# ovn build. Quiet lines unless V=1. Every top-level folder is a library whose
# sources are picked up by wildcard; tests/unit/test_<x>.c becomes one binary.
#   make            build build/bin/{ovnagent,ovnctl,ovn-cni}
#   make check      unit tests (cmocka) + netns tests (root); one summary line
#   make asan       the same build with ASan/UBSan in build-asan/
#   make check-asan unit + netns tests of that build
#   make check-valgrind  unit tests under valgrind memcheck
#   make fuzz-smoke libFuzzer targets: kept inputs + 3 s each (part of check)
#   make deps       install the Debian packages the build and tests need
#   make demo       a demo cluster in network namespaces (see README)
#   make bench      every benchmark + plots (BENCH_FULL=1 for full sizes)
#   make bench-gossip  bench/gossip: ovn's gossip next to serf (root)

BUILD   ?= build
CC      ?= gcc
PKGS    := libuv jansson yaml-0.1 libmnl hiredis libcurl libsodium libnftables libseccomp libcap
CFLAGS  ?= -O2 -g
CFLAGS  += -DOVN_VERSION=\"0.1.0\"
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -D_GNU_SOURCE -MMD -MP -Ilib -Idataplane -Ikvstore -Idns -Igossip -Iagent -Icni
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is dlopen()ed by kvstore/kv_http.c when an HTTP store is used, so
# the binaries do not link it; tests that call curl themselves do.
LDLIBS  += $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -lpthread
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC   := $(wildcard lib/*.c) $(wildcard dataplane/*.c) $(wildcard kvstore/*.c) \
	     $(wildcard dns/*.c) $(wildcard gossip/*.c)
AGENT_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c))
CLI_SRC   := $(wildcard cli/*.c)
# ovn-cni: cni/cni.c is the pure half (also linked into test_cni), the HTTP
# client is ovnctl's own object.
CNI_SRC   := cni/ovn-cni.c cni/cni.c cli/client.c
TEST_SRC  := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ   := $(call obj,$(LIB_SRC))
AGENT_OBJ := $(call obj,$(AGENT_SRC))
CLI_OBJ   := $(call obj,$(CLI_SRC))
TESTS     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))

all: $(BUILD)/bin/ovnagent $(BUILD)/bin/ovnctl $(BUILD)/bin/ovn-cni $(BUILD)/bench/gossipd

$(BUILD)/libovn.a: $(LIB_OBJ) $(AGENT_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/ovnagent: $(call obj,agent/main.c) $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/ovnctl: $(CLI_OBJ) $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/ovn-cni: $(call obj,$(CNI_SRC)) $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# One gossip node for bench/gossip (built with the rest so it keeps compiling).
$(BUILD)/bench/gossipd: $(call obj,bench/gossip/gossipd.c) $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(call obj,cni/ovn-cni.c): CFLAGS += -Icli

$(BUILD)/tests/test_cni: $(BUILD)/tests/unit/test_cni.o $(call obj,cni/cni.c) $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libovn.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lcurl

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

tests: $(TESTS)

# Unit tests need no root. Each binary prints cmocka's own summary; the
# runner adds up all of them.
check-unit: all $(TESTS)
	$(Q)tests/run-unit.sh $(BUILD)

# netns tests need root; they run the agent and ovnctl from $(BUILD)/bin.
check-netns: all
	$(Q)OVN_BIN=$(abspath $(BUILD)/bin) tests/netns/run.sh

# The one test command (README, .ci/run): installs packages, builds, runs
# unit and netns tests, then prints one closing summary line.
check: deps
	$(Q)tests/run-all.sh $(BUILD)

# netns scripts inside a QEMU guest running Debian's kernel (tests/vm/run.sh),
# for what this host's kernel lacks: by default test_encrypt.sh, whose ESP
# checks skip on a kernel without CONFIG_INET_ESP / CONFIG_CRYPTO_GCM.
# VM_TESTS="tests/netns/test_x.sh ..." for others. Not part of `make check`
# (minutes of emulated CPU where KVM is unavailable).
check-vm: all
	$(Q)scripts/install-deps.sh --vm
	$(Q)tests/vm/run.sh $(VM_TESTS)

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all tests

# The unit tests under valgrind's memcheck (the plain build: valgrind and
# ASan do not mix): any invalid access, use of uninitialised memory or
# definite leak fails the binary (--error-exitcode). A stage of `make
# check` (tests/run-all.sh, about a minute); UNIT_TIMEOUT bounds each.
VALGRIND ?= valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --num-callers=30 --suppressions=tests/valgrind.supp
check-valgrind: all $(TESTS)
	$(Q)UNIT_LABEL=valgrind UNIT_WRAP="$(VALGRIND)" OVN_TEST_TIME_SCALE=10 \
		tests/run-unit.sh $(BUILD)

check-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all tests
	$(Q)tests/run-all.sh build-asan

deps:
	$(Q)scripts/install-deps.sh

demo: deps all
	$(Q)scripts/demo.sh

demo-clean:
	$(Q)scripts/demo.sh clean

# Every benchmark in bench/ with its anchor (Docker, dnsmasq, ip -batch) in
# the same run; JSON in $(BUILD)/bench/, plots and results.md in
# $(BUILD)/bench/report/ (BENCH_REPORT_DIR=docs/bench for the committed
# ones). Quick sizes unless BENCH_FULL=1; BENCH_ONLY="dns attach" for some.
bench: deps all
	$(Q)BENCH_DIR=$(abspath $(BUILD))/bench OVN_BIN=$(abspath $(BUILD))/bin bench/run-all.sh

# ovn's gossip next to serf (root, ~8 min; BENCH_QUICK=1 for ~3 min).
bench-gossip: deps all
	$(Q)bench/gossip/run.sh

# libFuzzer targets (clang): tests/fuzz/fuzz.mk lists each target's sources,
# so a target links only the parser it exercises.
FUZZ_CC ?= clang
-include tests/fuzz/fuzz.mk
include mk/install.mk

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all tests check check-unit check-netns check-vm check-asan check-valgrind asan deps demo demo-clean bench bench-gossip clean
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

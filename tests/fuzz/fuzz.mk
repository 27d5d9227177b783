# tests/fuzz/fuzz.mk: libFuzzer targets, included by the top Makefile.
#   make fuzz                 build build-fuzz/fuzz_<x> for every target
#   make fuzz-run             run each for FUZZ_RUNS executions (at most
#                             FUZZ_SECS seconds), corpus in build-fuzz/corpus/<x>
#                             plus tests/fuzz/seeds/<x> and tests/fuzz/regress/<x>
#   make fuzz-smoke           the suite's short pass: replay regress/ and seeds/,
#                             then FUZZ_SMOKE_SECS (3) seconds per target
# Each target lists only the sources it exercises (no libovn.a, no libuv).
# Other libraries' fragments (tests/fuzz/fuzz_<lib>.mk) are included from
# here, since the top Makefile includes only this file; they may add their
# targets to FUZZ_TARGETS (with <target>_SRC) or keep rules of their own.

FUZZ_DIR   ?= build-fuzz
FUZZ_RUNS  ?= 3000000
FUZZ_SECS  ?= 600
FUZZ_FLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	      -Ilib -Idns

FUZZ_TARGETS += fuzz_dns_codec fuzz_dns_server
fuzz_dns_codec_SRC  := tests/fuzz/fuzz_dns_codec.c dns/codec.c
fuzz_dns_server_SRC := tests/fuzz/fuzz_dns_server.c dns/codec.c dns/table.c dns/server.c \
		       lib/addr.c
fuzz_dns_codec_DICT  := tests/fuzz/dns.dict
fuzz_dns_server_DICT := tests/fuzz/dns.dict

define FUZZ_RULE
$(FUZZ_DIR)/$(1): $$($(1)_SRC) $$(wildcard dns/*.h lib/*.h)
	@mkdir -p $$(@D)
	@echo "  FUZZ    $$@"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $$@ $$($(1)_SRC)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

# One target's run: full output in build-fuzz/<x>.log, its tail on failure,
# the final stats otherwise.
define FUZZ_RUN
mkdir -p $(FUZZ_DIR)/corpus/$(1) && echo "  RUN     $(1) ($(FUZZ_RUNS) runs, <= $(FUZZ_SECS) s)" && \
{ $(FUZZ_DIR)/$(1) -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
	$(if $($(1)_DICT),-dict=$($(1)_DICT)) $(FUZZ_DIR)/corpus/$(1) \
	$(wildcard tests/fuzz/seeds/$(1) tests/fuzz/regress/$(1)) >$(FUZZ_DIR)/$(1).log 2>&1 || \
	{ tail -n 40 $(FUZZ_DIR)/$(1).log; false; }; } && \
grep -E '^Done|number_of_executed_units|peak_rss' $(FUZZ_DIR)/$(1).log
endef

fuzz-run: fuzz
	$(Q)$(foreach t,$(FUZZ_TARGETS),$(call FUZZ_RUN,$(t)) && ) true

# The suite's share (tests/run-all.sh, `make check`): replay every input
# kept in tests/fuzz/regress/<x> (inputs that once crashed) and
# tests/fuzz/seeds/<x>, then fuzz each target for FUZZ_SMOKE_SECS.
FUZZ_SMOKE_SECS ?= 3
fuzz-smoke: fuzz
	$(Q)FUZZ_DIR=$(FUZZ_DIR) FUZZ_SMOKE_SECS=$(FUZZ_SMOKE_SECS) tests/fuzz/run-smoke.sh $(FUZZ_TARGETS)

fuzz-list:
	@echo $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-run fuzz-smoke fuzz-list

-include $(filter-out tests/fuzz/fuzz.mk,$(wildcard tests/fuzz/fuzz_*.mk))

# tests/fuzz/fuzz_gossip.mk: libFuzzer targets for gossip/, included by
# tests/fuzz/fuzz.mk (after its own rules: so the targets join FUZZ_TARGETS
# for `make fuzz-run`, and `fuzz` gets them as extra prerequisites). Own
# rules because they need -Igossip, and the core one libsodium.
#   make fuzz-gossip          build both into build-fuzz/
#   make fuzz-run             runs them with the others
GOSSIP_FUZZ_DIR   ?= $(or $(FUZZ_DIR),build-fuzz)
GOSSIP_FUZZ_FLAGS ?= $(or $(FUZZ_FLAGS),-g -O1 -std=gnu11 -D_GNU_SOURCE \
		     -fsanitize=fuzzer,address,undefined) -Ilib -Igossip
GOSSIP_WIRE_SRC   := gossip/wire.c gossip/tags.c
GOSSIP_CORE_SRC   := $(filter-out gossip/gossip_uv.c,$(wildcard gossip/*.c)) lib/util.c

$(GOSSIP_FUZZ_DIR)/fuzz_gossip_packet: tests/fuzz/fuzz_gossip_packet.c $(GOSSIP_WIRE_SRC) \
				       $(wildcard gossip/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(GOSSIP_FUZZ_FLAGS) -o $@ $(filter %.c,$^)

$(GOSSIP_FUZZ_DIR)/fuzz_gossip_input: tests/fuzz/fuzz_gossip_input.c $(GOSSIP_CORE_SRC) \
				      $(wildcard gossip/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(GOSSIP_FUZZ_FLAGS) -o $@ $(filter %.c,$^) -lsodium

FUZZ_TARGETS += fuzz_gossip_packet fuzz_gossip_input
fuzz: $(GOSSIP_FUZZ_DIR)/fuzz_gossip_packet $(GOSSIP_FUZZ_DIR)/fuzz_gossip_input
fuzz-gossip: $(GOSSIP_FUZZ_DIR)/fuzz_gossip_packet $(GOSSIP_FUZZ_DIR)/fuzz_gossip_input

.PHONY: fuzz-gossip

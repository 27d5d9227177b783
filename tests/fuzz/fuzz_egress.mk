# tests/fuzz/fuzz_egress.mk: libFuzzer target for the --publish parser and
# the nftables element text (tests/fuzz/fuzz_publish.c), included by
# tests/fuzz/fuzz.mk. Own rule because it needs -Iagent -Idataplane and
# jansson (agent/model.c), libnftables and libmnl (dataplane/nft.c runs
# batches, reads the ruleset generation).
#   make fuzz-egress          build it into build-fuzz/
#   make fuzz-run             runs it with the others
EGRESS_FUZZ_DIR   ?= $(or $(FUZZ_DIR),build-fuzz)
EGRESS_FUZZ_FLAGS ?= $(or $(FUZZ_FLAGS),-g -O1 -std=gnu11 -D_GNU_SOURCE \
		     -fsanitize=fuzzer,address,undefined) -Ilib -Iagent -Idataplane
EGRESS_FUZZ_SRC   := tests/fuzz/fuzz_publish.c agent/model.c dataplane/nft.c lib/addr.c \
		     lib/util.c

$(EGRESS_FUZZ_DIR)/fuzz_publish: $(EGRESS_FUZZ_SRC) agent/model.h dataplane/dataplane.h
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(EGRESS_FUZZ_FLAGS) -o $@ $(filter %.c,$^) -ljansson -lnftables -lmnl

FUZZ_TARGETS += fuzz_publish
fuzz: $(EGRESS_FUZZ_DIR)/fuzz_publish
fuzz-egress: $(EGRESS_FUZZ_DIR)/fuzz_publish

.PHONY: fuzz-egress

# tests/fuzz/fuzz_agent.mk: libFuzzer targets for the agent's decoders,
# ovn-cni's and the dataplane's netlink replies, included by
# tests/fuzz/fuzz.mk (so they join FUZZ_TARGETS for `make fuzz-run`).
#
#   fuzz_model    API request bodies and store records (agent/model.c)
#   fuzz_docker   libnetwork remote driver requests (agent/docker.c)
#   fuzz_cni      CNI conf, environment, CNI_ARGS, prevResult, results
#   fuzz_config   the YAML configuration (agent/config.c)
#   fuzz_http     the HTTP/1.1 server, a real one on a unix socket
#   fuzz_netlink  dump and batch replies through dataplane/nl.c, with a
#                 fake kernel behind mnl_socket_sendto/recvfrom (--wrap)
#   fuzz_kv_wire  etcd and Consul answers (kvstore/kv_*_wire.c)
#
# model, cni and netlink list their sources, as fuzz.mk's do. docker,
# config, http and kv_wire link an instrumented archive of the agent's objects
# instead: their decoders sit in files that also hold libuv code
# (config.c checks values with dnsint.c's and metrics_tcp.c's parsers,
# docker.c's parsers share the file with its handlers), and the linker
# still takes only the objects a target reaches.
AGENT_FUZZ_DIR   := $(or $(FUZZ_DIR),build-fuzz)
AGENT_FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
		     -Wno-missing-field-initializers -DOVN_VERSION=\"0.1.0-fuzz\" \
		     -fno-sanitize-recover=undefined \
		     -Ilib -Idataplane -Ikvstore -Idns -Igossip -Iagent -Icni \
		     $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
AGENT_FUZZ_LIBS  := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -lpthread
AGENT_FUZZ_SAN   := -fsanitize=fuzzer,address,undefined
AGENT_FUZZ_OBJ_SRC := $(LIB_SRC) $(AGENT_SRC) cni/cni.c
AGENT_FUZZ_OBJS  := $(patsubst %.c,$(AGENT_FUZZ_DIR)/obj/%.o,$(AGENT_FUZZ_OBJ_SRC))

$(AGENT_FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(AGENT_FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-MMD -MP -c -o $@ $<

$(AGENT_FUZZ_DIR)/libovn-fuzz.a: $(AGENT_FUZZ_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

fuzz_model_SRC   := tests/fuzz/fuzz_model.c agent/model.c lib/addr.c lib/util.c
fuzz_cni_SRC     := tests/fuzz/fuzz_cni.c cni/cni.c agent/model.c lib/addr.c lib/util.c
fuzz_netlink_SRC := tests/fuzz/fuzz_netlink.c $(wildcard dataplane/*.c) lib/addr.c lib/util.c
fuzz_netlink_LDFLAGS := -Wl,--wrap=mnl_socket_sendto -Wl,--wrap=mnl_socket_recvfrom

define AGENT_FUZZ_SRC_RULE
$(AGENT_FUZZ_DIR)/$(1): $$($(1)_SRC) $$(wildcard lib/*.h agent/*.h cni/*.h dataplane/*.h)
	@mkdir -p $$(@D)
	@echo "  FUZZ    $$@"
	$(Q)$(FUZZ_CC) $(AGENT_FUZZ_CFLAGS) $(AGENT_FUZZ_SAN) -o $$@ $$($(1)_SRC) \
		$$($(1)_LDFLAGS) $(AGENT_FUZZ_LIBS)
endef

define AGENT_FUZZ_AR_RULE
$(AGENT_FUZZ_DIR)/$(1): tests/fuzz/$(1).c $(AGENT_FUZZ_DIR)/libovn-fuzz.a
	@mkdir -p $$(@D)
	@echo "  FUZZ    $$@"
	$(Q)$(FUZZ_CC) $(AGENT_FUZZ_CFLAGS) $(AGENT_FUZZ_SAN) -o $$@ $$^ $(AGENT_FUZZ_LIBS)
endef

AGENT_FUZZ_SRC_TARGETS := fuzz_model fuzz_cni fuzz_netlink
AGENT_FUZZ_AR_TARGETS  := fuzz_docker fuzz_config fuzz_http fuzz_kv_wire
$(foreach t,$(AGENT_FUZZ_SRC_TARGETS),$(eval $(call AGENT_FUZZ_SRC_RULE,$(t))))
$(foreach t,$(AGENT_FUZZ_AR_TARGETS),$(eval $(call AGENT_FUZZ_AR_RULE,$(t))))

AGENT_FUZZ_TARGETS := $(AGENT_FUZZ_SRC_TARGETS) $(AGENT_FUZZ_AR_TARGETS)
FUZZ_TARGETS += $(AGENT_FUZZ_TARGETS)
fuzz: $(addprefix $(AGENT_FUZZ_DIR)/,$(AGENT_FUZZ_TARGETS))
fuzz-agent: $(addprefix $(AGENT_FUZZ_DIR)/,$(AGENT_FUZZ_TARGETS))

-include $(AGENT_FUZZ_OBJS:.o=.d)

.PHONY: fuzz-agent

# mk/install.mk: install, uninstall and man targets, included by the Makefile.
#
#   make install   [DESTDIR=/tmp/root] [PREFIX=/usr]   binaries, man pages,
#                  example config, systemd unit, bash completion
#   make uninstall [DESTDIR=...] [PREFIX=...]          removes exactly those
#   make man                                           checks the man pages
#
# Where things go (PREFIX ?= /usr/local):
#   BINDIR      $(PREFIX)/bin                      ovnagent, ovnctl
#   CNIDIR      $(PREFIX)/lib/cni                  ovn-cni (Debian's CNI plugin
#                                                  dir for /usr; podman searches
#                                                  /usr/lib/cni and /usr/local/lib/cni;
#                                                  Kubernetes: CNIDIR=/opt/cni/bin)
#   MANDIR      $(PREFIX)/share/man                ovnagent.8 ovnctl.8 ovn-agent.yaml.5
#   SYSCONFDIR  /etc, whatever PREFIX is           ovn/agent.yaml.example (+ agent.yaml)
#   UNITDIR     PREFIX=/usr:       /lib/systemd/system (Debian's place for
#                                  packaged units)
#               PREFIX=/usr/local: /usr/local/lib/systemd/system, which
#                                  systemd searches too, so a local install
#                                  works without touching distribution files
#               other PREFIX:      $(PREFIX)/lib/systemd/system, which
#                                  systemd does not search: `systemctl link`
#                                  the file, or set UNITDIR=/etc/systemd/system
#   COMPLETIONDIR $(PREFIX)/share/bash-completion/completions (bash-completion
#               looks there for /usr and /usr/local through XDG_DATA_DIRS)
# SYSCONFDIR stays /etc because ovnagent's default config path is compiled
# in as /etc/ovn/agent.yaml; the unit passes --config with SYSCONFDIR anyway.
#
# The config: agent.yaml.example is always (re)installed. agent.yaml is
# installed as a copy of it only when there is none, so a user's file is never
# overwritten; the unit runs `ovnagent --config .../agent.yaml` and needs one.
# (The example sets every key to its default, so the copy changes nothing.)
# uninstall removes agent.yaml only while it is still identical to the
# example, i.e. still what install put there; an edited one is kept, and said.
#
# The unit's ExecStart/ExecReload paths are rewritten from /usr/local/bin and
# /etc to BINDIR and SYSCONFDIR into $(BUILD)/packaging/ovnagent.service.
#
# Nothing here is the default goal: the saved .DEFAULT_GOAL is restored at
# the end, so this file can be included anywhere in the Makefile.

_install_mk_goal := $(.DEFAULT_GOAL)

PREFIX        ?= /usr/local
DESTDIR       ?=
BUILD         ?= build
BINDIR        ?= $(PREFIX)/bin
CNIDIR        ?= $(PREFIX)/lib/cni
MANDIR        ?= $(PREFIX)/share/man
SYSCONFDIR    ?= /etc
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
ifeq ($(PREFIX),/usr)
UNITDIR       ?= /lib/systemd/system
else ifeq ($(PREFIX),/usr/local)
UNITDIR       ?= /usr/local/lib/systemd/system
else
UNITDIR       ?= $(PREFIX)/lib/systemd/system
endif
INSTALL       ?= install

MAN_PAGES := ovnagent.8 ovnctl.8 ovn-agent.yaml.5
MAN_SRC   := $(addprefix docs/man/,$(MAN_PAGES))
UNIT_OUT  := $(BUILD)/packaging/ovnagent.service
CONF_DIR  := $(DESTDIR)$(SYSCONFDIR)/ovn

# Every file install writes, except agent.yaml (conditional, see above).
INSTALLED_FILES := \
	$(DESTDIR)$(BINDIR)/ovnagent \
	$(DESTDIR)$(BINDIR)/ovnctl \
	$(DESTDIR)$(CNIDIR)/ovn-cni \
	$(DESTDIR)$(MANDIR)/man8/ovnagent.8 \
	$(DESTDIR)$(MANDIR)/man8/ovnctl.8 \
	$(DESTDIR)$(MANDIR)/man5/ovn-agent.yaml.5 \
	$(CONF_DIR)/agent.yaml.example \
	$(DESTDIR)$(UNITDIR)/ovnagent.service \
	$(DESTDIR)$(COMPLETIONDIR)/ovnctl

# The unit with this install's paths. Regenerated on every install (cheap),
# since make cannot see a change of BINDIR or SYSCONFDIR on the command line.
$(UNIT_OUT): packaging/ovnagent.service _install_force
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	$(Q)sed -e 's|/usr/local/bin/ovnagent|$(BINDIR)/ovnagent|g' \
		-e 's|/etc/ovn/agent.yaml|$(SYSCONFDIR)/ovn/agent.yaml|g' $< >$@.tmp && \
		mv $@.tmp $@

# man: the pages are hand-written; check them. mandoc -T lint is the strict
# checker (Debian package mandoc); without it, groff's warnings.
man: $(MAN_SRC)
	$(Q)if command -v mandoc >/dev/null; then \
		echo "  LINT    $(MAN_SRC) (mandoc)"; \
		mandoc -T lint -W warning $(MAN_SRC); \
	else \
		echo "  LINT    $(MAN_SRC) (groff; install mandoc for more)"; \
		for p in $(MAN_SRC); do \
			out=$$(groff -man -z -ww -t $$p 2>&1); \
			[ -z "$$out" ] || { echo "$$out"; exit 1; }; \
		done; \
	fi

install: $(BUILD)/bin/ovnagent $(BUILD)/bin/ovnctl $(BUILD)/bin/ovn-cni $(UNIT_OUT)
	@echo "  INSTALL $(DESTDIR)$(PREFIX) (config $(CONF_DIR), unit $(DESTDIR)$(UNITDIR))"
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(CONF_DIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(CNIDIR)
	$(Q)$(INSTALL) -m 0755 $(BUILD)/bin/ovnagent $(BUILD)/bin/ovnctl $(DESTDIR)$(BINDIR)/
	$(Q)$(INSTALL) -m 0755 $(BUILD)/bin/ovn-cni $(DESTDIR)$(CNIDIR)/
	$(Q)$(INSTALL) -m 0644 docs/man/ovnagent.8 docs/man/ovnctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)$(INSTALL) -m 0644 docs/man/ovn-agent.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)$(INSTALL) -m 0644 etc/agent.yaml.example $(CONF_DIR)/agent.yaml.example
	$(Q)if [ -e $(CONF_DIR)/agent.yaml ] || [ -L $(CONF_DIR)/agent.yaml ]; then \
		echo "  KEEP    $(CONF_DIR)/agent.yaml (exists; compare with agent.yaml.example)"; \
	else \
		$(INSTALL) -m 0644 etc/agent.yaml.example $(CONF_DIR)/agent.yaml; \
	fi
	$(Q)$(INSTALL) -m 0644 $(UNIT_OUT) $(DESTDIR)$(UNITDIR)/ovnagent.service
	$(Q)$(INSTALL) -m 0644 completion/ovnctl.bash $(DESTDIR)$(COMPLETIONDIR)/ovnctl

# agent.yaml goes first, while the example it is compared with is still
# there. Directories: only ovn's own ($(SYSCONFDIR)/ovn) is removed, and only
# when empty; bin/, share/man/... belong to everyone.
uninstall:
	@echo "  UNINST  $(DESTDIR)$(PREFIX) (config $(CONF_DIR), unit $(DESTDIR)$(UNITDIR))"
	$(Q)if [ -f $(CONF_DIR)/agent.yaml ] && [ ! -L $(CONF_DIR)/agent.yaml ] && \
	    cmp -s $(CONF_DIR)/agent.yaml $(CONF_DIR)/agent.yaml.example; then \
		rm -f $(CONF_DIR)/agent.yaml; \
	elif [ -e $(CONF_DIR)/agent.yaml ]; then \
		echo "  KEEP    $(CONF_DIR)/agent.yaml (edited; remove it by hand)"; \
	fi
	$(Q)rm -f $(INSTALLED_FILES)
	$(Q)if [ -d $(CONF_DIR) ]; then rmdir --ignore-fail-on-non-empty $(CONF_DIR); fi

_install_force:

.PHONY: install uninstall man _install_force

.DEFAULT_GOAL := $(_install_mk_goal)

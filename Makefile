# SPDX-License-Identifier: GPL-2.0-only
# hybond: BPF objects (clang -target bpf, CO-RE), skeletons, the daemon and
# the tests. Every output goes under build/; `make clean` is rm -rf build.

BUILD     ?= build
CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE
CPPFLAGS  += -Iinclude -Iuser -I$(BUILD)
LDLIBS    += -lbpf -lelf -lz -lmnl -lpthread
BPF_CFLAGS = -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	     -I$(BUILD) -Iinclude -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
HEADERS   := $(wildcard include/*.h user/*.h)

.SECONDARY:
.PHONY: all clean check check-unit check-bpf check-netns check-fuzz check-asan demo deps vmtest bench format \
	install uninstall

all: $(BUILD)/hybond

# The README's two commands: `make deps demo` and `make deps check`.
demo: all $(BUILD)/tests/tcptool
	tests/demo.sh

check: check-unit check-bpf check-fuzz check-netns

# Install the Debian packages listed in .ci/packages that are missing.
deps:
	@missing=$$(for p in $$(grep -v '^#' .ci/packages); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/lib/*.h) include/hybond_abi.h $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(BPFTOOL) gen object $@ $@.tmp.o
	@rm -f $@.tmp.o

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(HEADERS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/hybond: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

clean:
	rm -rf $(BUILD)

# ---- install (PREFIX, DESTDIR as usual) ----------------------------------
# The BPF objects are skeletons compiled into the binary: nothing else to
# install for them. Units get the binary's path; the examples go to the
# documentation directory, and /etc/hybond is created, never overwritten.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/hybond
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
DIST       := user/dist
UNITS      := hybond-cpe@.service hybond-hag@.service
DOCS       := $(DIST)/cpe.conf.example $(DIST)/hag.conf.example \
	      policy/cpe.policy policy/hag.policy README.md

install: $(BUILD)/hybond
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/hybond
	install -m 0755 $(BUILD)/hybond $(DESTDIR)$(SBINDIR)/hybond
	install -m 0644 $(DIST)/hybond.8 $(DESTDIR)$(MANDIR)/man8/hybond.8
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 policy/README.md $(DESTDIR)$(DOCDIR)/policy.md
	install -m 0644 bench/README.md $(DESTDIR)$(DOCDIR)/performance.md
	set -e; for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
			$(DIST)/$$u.in >$(DESTDIR)$(UNITDIR)/$$u.tmp; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp; \
		mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u; \
	done

# Leaves /etc/hybond and what is in it.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/hybond $(DESTDIR)$(MANDIR)/man8/hybond.8
	rm -f $(patsubst %,$(DESTDIR)$(UNITDIR)/%,$(UNITS))
	rm -f $(patsubst %,$(DESTDIR)$(DOCDIR)/%,$(notdir $(DOCS)) policy.md performance.md)
	-rmdir $(DESTDIR)$(DOCDIR)

# ---- tests -------------------------------------------------------------
$(BUILD)/tests/tcptool: tests/lib/tcptool.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@

$(BUILD)/tests/notifyd: tests/lib/notifyd.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@

NETNS_TESTS := $(sort $(wildcard tests/netns/*.sh))

check-netns: $(BUILD)/hybond $(BUILD)/tests/tcptool $(BUILD)/tests/notifyd \
	     $(BUILD)/bench/holdconns
	@tests/run.sh $(NETNS_TESTS)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
$(BUILD)/tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h tests/lib/*.h bpf/lib/*.h include/*.h user/*.h) $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ibpf -Itests/unit $(CFLAGS) $< $(filter-out $(BUILD)/user/main.o,$(USER_OBJS)) -o $@ -lcriterion $(LDLIBS)

check-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "=== $$t"; $$t --short-filename || exit 1; done

BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
$(BUILD)/tests/bpf/%: tests/bpf/%.c $(SKELS) $(wildcard tests/lib/*.h include/*.h user/*.c user/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ -lcriterion $(LDLIBS)

check-bpf: $(BPF_TESTS)
	@for t in $(BPF_TESTS); do echo "=== $$t"; $$t --short-filename || exit 1; done

# ---- benchmarks (figures, not tests) -------------------------------------
$(BUILD)/bench/holdconns: bench/holdconns.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@

$(BUILD)/bench/relaymech: bench/relaymech.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ -luring

bench: all $(BUILD)/tests/tcptool $(BUILD)/bench/holdconns $(BUILD)/bench/relaymech
	bench/run.sh $(BENCH_ARGS)

# ---- the suite on other kernels (QEMU) -------------------------------------
vmtest: all $(BUILD)/tests/tcptool
	vmtest/matrix $(VMTEST_ARGS)

# ---- fuzzing (libFuzzer, bounded runs; corpus in tests/fuzz/corpus) ------
FUZZ_SECS ?= 20
# A fixed seed makes a CI run repeatable; FUZZ_SEED=0 lets libFuzzer pick one.
FUZZ_SEED ?= 1
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Iuser

$(BUILD)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c user/policy.c user/sbuf.c $(HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_policy.c user/policy.c user/sbuf.c -o $@

$(BUILD)/fuzz/fuzz_netlink: tests/fuzz/fuzz_netlink.c user/nl.c user/pm.c user/upm.c user/log.c user/sysctl.c $(HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_netlink.c user/log.c user/sysctl.c -o $@ -lmnl -lbpf

check-fuzz: $(BUILD)/fuzz/fuzz_policy $(BUILD)/fuzz/fuzz_netlink
	@for f in policy netlink; do \
		echo "=== fuzz_$$f ($(FUZZ_SECS) s)"; \
		mkdir -p $(BUILD)/fuzz/corpus-$$f; \
		$(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECS) -seed=$(FUZZ_SEED) -rss_limit_mb=1024 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f \
			>$(BUILD)/fuzz/fuzz_$$f.log 2>&1; rc=$$?; \
		grep -E "ERROR|SUMMARY|stat::number_of_executed_units|Done" $(BUILD)/fuzz/fuzz_$$f.log; \
		test $$rc -eq 0 || { echo "fuzz_$$f failed (exit $$rc): see $(BUILD)/fuzz/fuzz_$$f.log"; exit 1; }; \
	done

# ---- the daemon under AddressSanitizer and UndefinedBehaviorSanitizer ----
ASAN_TESTS ?= bonded_path nat options stream_semantics timeouts stats gateway_guard subflows join_after takeover splice_relay pm_burst
$(BUILD)/asan/hybond: $(USER_SRCS) $(HEADERS) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		-Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE $(USER_SRCS) -o $@ $(LDLIBS)

check-asan: $(BUILD)/asan/hybond $(BUILD)/tests/tcptool $(BUILD)/bench/holdconns
	@HYBOND=$(BUILD)/asan/hybond HYBOND_ASAN=1 tests/run.sh $(patsubst %,tests/netns/%.sh,$(ASAN_TESTS))
